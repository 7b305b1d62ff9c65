"""The scene-cut world: the next clip is another shot, after a cut, whose content follows from the context but cannot
be copied from its pixels.

The context is one wide shot. A ball (the mover) acts early in it and is out of sight before the clip ends: it rolls
out of the room, behind a panel, or falls through the floor; a second ball (the bystander, another colour) rests in
view the whole time. So the context's last frames (all that a clean history frame shows) hold neither the mover's
colour nor where it went: only a model that watched the whole clip knows what the next shot must show. The next shot
has its own framing, scale and background, the same for every scene of a family:

    next_room  the mover rolls out of the room; cut to the room next door: it rolls in from the side it left
               toward, at the same height, and keeps going                   outcome: direction x height (6)
    reverse    the mover rolls behind a panel at the side; cut to the reverse angle (from behind the panel): it comes
               out moving the other way across the screen, at the same height  outcome: direction x height (6)
    lamp       the mover rolls behind the panel toward three switches, one per height, each lighting the lamp at its
               height on the panel; cut to a close-up of the lamps: its height's lamp lights  outcome: height (3)
    time_skip  the mover falls out through the floor; cut to later, the room below: it lies on the floor in the
               column it fell down                                           outcome: column (3)

Outcomes are balanced (`nsp data synth` takes them in turn), so always guessing a family's most common outcome is
right 1/6 or 1/3 of the time (and the mover's colour, one of seven, once more only by chance). Time runs in clip
units as in `world.py` (tau in [0, 1) the context, [1, 2) the next shot); space in canvas units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nsp.data.world import COLORS, GREY, LAMP_OFF, LAMP_ON, _a, _box_mask, ball_at, frame_times

CUT_FAMILIES = ("next_room", "reverse", "lamp", "time_skip")
CUT_KINDS = {"next_room": "next room", "reverse": "reverse angle", "lamp": "close-up", "time_skip": "time skip"}
LANES = (0.25, 0.5, 0.75)  # heights (or columns, time_skip) in canvas units
LANE_WORDS = ("top", "middle", "bottom")
COLUMN_WORDS = ("left", "middle", "right")
R_WIDE = 7 / 64  # ball radius in the context's wide shot
R_CLOSE = 10 / 64  # ball radius in the next shot (a closer framing)
PANEL = 0.7  # the panel covers [PANEL, 1] on the side the mover rolls toward (reverse, lamp)
SMALL_LAMP = 6 / 64  # the lamps on the panel in the wide shot
BIG_LAMP = 14 / 64  # the lamps in the close-up
LAMP_ON_AT = 1.3  # tau at which the close-up's lamp lights
FLOOR = 0.85  # time_skip's floor in the room below
NEXT_BACKGROUNDS = {"next_room": (48, 32, 16), "reverse": (14, 34, 48), "lamp": (34, 26, 40), "time_skip": (18, 42, 20)}
NEXT_SPEED = 1.0  # canvas units per clip of a ball rolling through the next shot


@dataclass
class CutScene:
    """The ground truth of one cut sample: enough to render both shots and to judge any next shot."""

    family: str
    color: str  # the mover
    other: str  # the bystander, resting in the context
    background: tuple[int, int, int]
    next_background: tuple[int, int, int]
    direction: int  # +1 right, -1 left (0: time_skip falls)
    lane: int  # 0..2: the height (or the column, time_skip) the outcome depends on
    wobble: float  # the context's small offset from the lane's centre (the next shot is framed on the lane)
    start: float  # the mover's start along its path (x, or y when falling)
    speed: float  # canvas units per clip
    other_xy: tuple[float, float]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "CutScene":
        return cls(**{**data, "background": tuple(data["background"]),
                      "next_background": tuple(data["next_background"]), "other_xy": tuple(data["other_xy"])})

    @property
    def outcome(self) -> str:
        """What the next shot depends on, as a label (for balance checks and probes)."""
        if self.family in ("next_room", "reverse"):
            return f"{'right' if self.direction > 0 else 'left'}-{LANE_WORDS[self.lane]}"
        return (LANE_WORDS if self.family == "lamp" else COLUMN_WORDS)[self.lane]


def outcomes(family: str) -> list[tuple[int, int]]:
    """(direction, lane) of every outcome of a family, in a fixed order."""
    if family in ("next_room", "reverse"):
        return [(d, lane) for d in (1, -1) for lane in range(3)]
    return [(1 if family == "lamp" else 0, lane) for lane in range(3)]


def sample_cut_scene(rng: np.random.Generator, family: str, outcome: int | None = None) -> CutScene:
    """A scene of `family`; `outcome` indexes `outcomes(family)` (None: drawn uniformly)."""
    options = outcomes(family)
    direction, lane = options[int(rng.integers(len(options))) if outcome is None else outcome]
    if family == "lamp":
        direction = int(rng.choice([1, -1]))
    color, other = (str(c) for c in rng.choice(list(COLORS), size=2, replace=False))
    background = tuple(int(v) for v in rng.integers(10, 60, size=3))
    next_background = tuple(int(np.clip(v + rng.integers(-6, 7), 0, 255)) for v in NEXT_BACKGROUNDS[family])
    wobble = float(rng.uniform(-0.015, 0.015))
    # The mover is in full view at tau 1/3 (the VLM's second sampled frame) and out of sight from tau 0.55 (the
    # last latent frame, which a clean history shows, starts at 5/9).
    gone = float(rng.uniform(0.5, 0.55))
    speed = float(rng.uniform(1.3, 1.6))  # fast enough to be in full view at tau 1/3 and gone by 0.55
    edge = PANEL + R_WIDE if family in ("reverse", "lamp") else 1 + R_WIDE  # canonical: rightward, or down
    start = edge - speed * gone
    # The bystander's lane and side are drawn independently of the outcome, so that the clean last frame (all a
    # history frame shows) says nothing about it; the mover passes in front of it when they share a lane. Only the
    # panel (reverse, lamp) shows which way the mover went, as the room's layout would.
    other_lane = LANES[int(rng.integers(3))] + float(rng.uniform(-0.015, 0.015))
    along = float(rng.uniform(0.15, 0.45))  # rests in the open part of the room
    if family == "time_skip":
        other_xy = (other_lane, float(rng.uniform(0.3, 0.7)))
    else:
        left = direction > 0 if family in ("reverse", "lamp") else bool(rng.integers(2))
        other_xy = (along if left else 1 - along, other_lane)
    return CutScene(family, color, other, background, next_background, direction, lane, wobble, start, speed,
                    other_xy)


# ---- what is where ------------------------------------------------------------------------------------------------
@dataclass
class ShotState:
    """One frame of either shot: balls as (colour, x, y, radius), boxes drawn over them, lamps as (box, on)."""

    background: tuple[int, int, int]
    balls: list[tuple[str, float, float, float]]
    boxes: list[tuple[float, float, float, float]]  # grey structures: panels, floors
    lamps: list[tuple[tuple[float, float, float, float], bool]]


def _flip(box: tuple[float, float, float, float], mirror: bool) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (1 - x1, y0, 1 - x0, y1) if mirror else box


def _lamp_column(x: float, side: float, on: int | None) -> list[tuple[tuple[float, float, float, float], bool]]:
    return [((x - side / 2, y - side / 2, x + side / 2, y + side / 2), on == i) for i, y in enumerate(LANES)]


def context_state(s: CutScene, tau: float) -> ShotState:
    mirror = s.direction < 0
    balls = [(s.other, *s.other_xy, R_WIDE)]
    boxes, lamps = [], []
    if s.family == "time_skip":
        y = s.start + s.speed * tau  # falls at a steady speed
        balls.append((s.color, LANES[s.lane] + s.wobble, y, R_WIDE))
    else:
        x = s.start + s.speed * tau
        balls.append((s.color, 1 - x if mirror else x, LANES[s.lane] + s.wobble, R_WIDE))
        if s.family in ("reverse", "lamp"):
            boxes.append(_flip((PANEL, 0.0, 1.0, 1.0), mirror))
        if s.family == "lamp":  # each height's lamp, on the panel, still off
            middle = (PANEL + 1) / 2
            lamps = _lamp_column(1 - middle if mirror else middle, SMALL_LAMP, None)
    return ShotState(s.background, balls, boxes, lamps)


def next_state(s: CutScene, tau: float) -> ShotState:
    """The next shot at tau in [1, 2): framed on the outcome, the same for every scene with that outcome."""
    t = tau - 1
    y = LANES[s.lane]
    if s.family == "lamp":
        return ShotState(s.next_background, [], [], _lamp_column(0.5, BIG_LAMP, s.lane if tau >= LAMP_ON_AT else None))
    if s.family == "time_skip":
        return ShotState(s.next_background, [(s.color, y, FLOOR - R_CLOSE, R_CLOSE)], [(0.0, FLOOR, 1.0, 1.0)], [])
    # Rolling in from the edge: next_room keeps the direction; the reverse angle sees it go the other way, coming
    # out from behind the panel's edge (a grey band on the side it enters from).
    moving_right = (s.direction > 0) == (s.family == "next_room")
    x = -R_CLOSE + NEXT_SPEED * t
    boxes = [(0.0, 0.94, 1.0, 1.0)] if s.family == "next_room" else [_flip((0.0, 0.0, 0.1, 1.0), not moving_right)]
    return ShotState(s.next_background, [(s.color, x if moving_right else 1 - x, y, R_CLOSE)], boxes, [])


def shot_state(s: CutScene, tau: float) -> ShotState:
    return context_state(s, tau) if tau < 1 else next_state(s, tau)


# ---- rendering ----------------------------------------------------------------------------------------------------
def visible_masks(state: ShotState, size: int) -> list[np.ndarray]:
    """The visible pixels of each ball of `state` (grey structures hide what is behind them)."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    cover = np.zeros((size, size), bool)
    for box in state.boxes:
        cover |= _box_mask(box, False, yy, xx, size)
    return [((xx - x * size) ** 2 + (yy - y * size) ** 2 <= (r * size) ** 2) & ~cover for _, x, y, r in state.balls]


def render_cut_frame(s: CutScene, tau: float, size: int) -> np.ndarray:
    state = shot_state(s, tau)
    frame = np.empty((size, size, 3), np.uint8)
    frame[:] = state.background
    yy, xx = np.mgrid[:size, :size] + 0.5
    for (color, *_), mask in zip(state.balls, visible_masks(state, size)):
        frame[mask] = COLORS[color]
    for box in state.boxes:
        frame[_box_mask(box, False, yy, xx, size)] = GREY
    for box, on in state.lamps:
        frame[_box_mask(box, False, yy, xx, size)] = LAMP_ON if on else LAMP_OFF
    return frame


def render_cut_clip(s: CutScene, clip: int, num_frames: int, size: int) -> np.ndarray:
    return np.stack([render_cut_frame(s, float(t), size) for t in frame_times(num_frames, clip)])


# ---- words --------------------------------------------------------------------------------------------------------
def cut_captions(s: CutScene) -> dict[str, str]:
    """Captions of both shots (T2V pretraining, the SFT text path) and of the context's first frame."""
    c, height = s.color, LANE_WORDS[s.lane]
    way = "right" if s.direction > 0 else "left"
    back = "left" if s.direction > 0 else "right"
    rest = f"; {_a(s.other)} ball rests"
    if s.family == "next_room":
        ctx = f"{_a(c)} ball rolls {way} along the {height} and out of the room{rest}"
        nxt = f"in the next room the {c} ball rolls in from the {back} along the {height}"
    elif s.family == "reverse":
        ctx = f"{_a(c)} ball rolls {way} along the {height} behind a panel{rest}"
        nxt = f"seen from behind the panel, the {c} ball rolls {back} along the {height}"
    elif s.family == "lamp":
        ctx = f"{_a(c)} ball rolls {way} along the {height} behind a panel to the switches; three lamps are off{rest}"
        nxt = f"close-up of the three lamps: the {height} lamp lights up"
    else:
        ctx = f"{_a(c)} ball falls down the {COLUMN_WORDS[s.lane]} and through the floor{rest}"
        nxt = f"later, in the room below, the {c} ball lies on the floor at the {COLUMN_WORDS[s.lane]}"
    return {"context": ctx, "next": nxt, "image": describe_cut_frame(s, 0.0)}


def outcome_words(s: CutScene) -> str:
    """What the next shot depends on, in a few words: "top" (lamp), "left red" (time skip), "top red left"."""
    c, way = s.color, "right" if s.direction > 0 else "left"
    if s.family == "lamp":
        return LANE_WORDS[s.lane]
    if s.family == "time_skip":
        return f"{COLUMN_WORDS[s.lane]} {c}"
    return f"{LANE_WORDS[s.lane]} {c} {way}"


def cut_answer(s: CutScene) -> str:
    """The tiny VLM's answer to the NSP prompt: what the next shot depends on in a few words, lane first, then its
    caption. A 2-layer VLM works a fact out where it must say it; leading with the outcome makes it work it out right
    where the queries sit (after the prompt), instead of dozens of tokens into the caption."""
    return f"{outcome_words(s)}. {cut_captions(s)['next']}"


def describe_cut_frame(s: CutScene, tau: float) -> str:
    """A caption of one frame (the text-to-image phase of pretraining)."""
    state = shot_state(s, tau)
    parts = [ball_at(c, x, y) for c, x, y, _ in state.balls]
    if state.boxes:
        parts.append("a grey panel" if s.family in ("reverse", "lamp") else "a grey floor")
    if state.lamps:
        parts.append("three lamps")
    return ", ".join(parts)


def cut_key(s: CutScene) -> tuple:
    """Identity up to imperceptible differences (keeps splits disjoint)."""
    q = lambda v: round(v * 32)  # noqa: E731
    return (s.family, s.color, s.other, s.direction, s.lane, q(s.wobble), q(s.start), q(s.speed * 0.25),
            q(s.other_xy[0]), q(s.other_xy[1]))
