"""The embedded synthetic world: short scenes with simple causal rules that a small model can learn on a CPU and a
program can judge.

A scene is two clips of one continuous event: the preceding clip sets it up, the next clip shows what happens.
Time runs in clip units (tau in [0, 1) is the preceding clip, [1, 2) the next one) and space in canvas units
([0, 1] across), so the same scene renders at any size and frame count. Every family's event (bounce, landing,
collision, switch, reappearance) happens inside the next clip, at tau_e in [1.15, 1.5].

Families:
    bounce     a ball rolls toward a wall and bounces back
    fall       a ball falls and lands on the floor, where it stays
    collision  a ball rolls into a resting ball, stops, and the other one rolls on
    switch     a ball rolls into a switch plate and stops; the lamp in the corner lights up
    occlusion  a ball rolls behind a screen and comes out on the other side at the same speed
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

FAMILIES = ("bounce", "fall", "collision", "switch", "occlusion")
# Saturated object colours, far from the dark backgrounds, the grey structures and the white lamp.
COLORS = {"red": (230, 40, 40), "green": (40, 210, 60), "blue": (50, 90, 245), "yellow": (240, 220, 40),
          "magenta": (225, 50, 220), "cyan": (40, 215, 230), "orange": (250, 140, 30)}
GREY = (140, 140, 140)  # walls, floor, plate, screen
LAMP_OFF, LAMP_ON = (75, 75, 75), (255, 255, 255)
RADIUS = 7 / 64  # ball radius in canvas units (7 px at 64 px)
WALL = 5 / 64  # wall / floor / plate thickness
LAMP = 11 / 64  # lamp square side


@dataclass
class Scene:
    """The ground truth of one sample: enough to render any frame and to judge any continuation."""

    family: str
    mirror: bool  # mirrored left-right (events happen on the left instead of the right)
    background: tuple[int, int, int]
    colors: list[str]  # ball colours: [mover] or [mover, resting ball]
    row: float  # the balls' centre height (horizontal families) or column (fall)
    x0: float  # the mover's start (canonical orientation)
    speed: float  # canvas units per clip
    event: float  # tau of the event (contact, landing, reappearance)
    structure: float  # wall / floor / plate / screen position (canonical orientation)
    other_x: float = 0.0  # collision: the resting ball's position

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Scene":
        return cls(**{**data, "background": tuple(data["background"])})


@dataclass
class FrameState:
    balls: list[tuple[float, float]]  # centre (x, y) in canvas units, actual orientation
    lamp_on: bool | None = None  # None: no lamp in this family
    extra: dict = field(default_factory=dict)


def sample_scene(rng: np.random.Generator, family: str | None = None) -> Scene:
    family = family or FAMILIES[rng.integers(len(FAMILIES))]
    colors = [str(c) for c in rng.choice(list(COLORS), size=2, replace=False)]
    background = tuple(int(v) for v in rng.integers(10, 60, size=3))
    mirror = bool(rng.integers(2))
    event = float(rng.uniform(1.15, 1.5))
    row = float(rng.uniform(0.3, 0.7))
    r = RADIUS
    while True:  # rejection sampling until the whole event fits on the canvas
        if family == "fall":
            floor = 1 - WALL
            y0 = float(rng.uniform(r + 0.02, 0.35))
            scene = Scene(family, mirror, background, colors[:1], row=float(rng.uniform(0.25, 0.75)), x0=y0,
                          speed=0.0, event=event, structure=floor)
            return scene
        if family == "occlusion":
            screen = float(rng.uniform(0.5, 0.6))
            speed = float(rng.uniform(0.3, 0.4))
            x0 = screen + float(rng.uniform(-0.05, 0.05)) - speed
            exit_tau = (screen + 0.125 + r - x0) / speed  # fully out from behind the 0.25-wide screen
            if x0 >= r + 0.01 and 1.15 <= exit_tau <= 1.7:
                return Scene(family, mirror, background, colors[:1], row, x0, speed, exit_tau, screen)
            continue
        x0 = float(rng.uniform(r + 0.02, 0.3))
        if family == "collision":
            contact = float(rng.uniform(0.55, 0.7))  # the mover's centre at contact
            speed = (contact - x0) / event
            other = contact + 2 * r
            return Scene(family, mirror, background, colors, row, x0, speed, event, structure=0.0, other_x=other)
        wall = 1 - WALL if family == "bounce" else float(rng.uniform(0.72, 0.85))  # bounce: wall; switch: plate
        contact = wall - r
        speed = (contact - x0) / event
        if 0.2 <= speed <= 0.6:
            return Scene(family, mirror, background, colors[:1], row, x0, speed, event, wall)


def state_at(scene: Scene, tau: float) -> FrameState:
    """Where everything is at time tau (clip units), in the actual (possibly mirrored) orientation."""
    s, r = scene, RADIUS
    lamp = None
    if s.family == "fall":
        contact_y = s.structure - r
        g = 2 * (contact_y - s.x0) / s.event**2
        y = contact_y if tau >= s.event else s.x0 + 0.5 * g * tau**2
        return FrameState([(s.row, y)])
    if s.family == "bounce":
        contact = s.x0 + s.speed * s.event
        x = s.x0 + s.speed * tau if tau < s.event else contact - s.speed * (tau - s.event)
        balls = [x]
    elif s.family == "switch":
        balls = [min(s.x0 + s.speed * tau, s.x0 + s.speed * s.event)]
        lamp = tau >= s.event
    elif s.family == "collision":
        contact = s.x0 + s.speed * s.event
        if tau < s.event:
            balls = [s.x0 + s.speed * tau, s.other_x]
        else:
            balls = [contact, s.other_x + s.speed * (tau - s.event)]
    else:  # occlusion: constant speed; the screen hides it on the way
        balls = [s.x0 + s.speed * tau]
    xs = [1 - x if s.mirror else x for x in balls]
    return FrameState([(x, s.row) for x in xs], lamp)


def frame_times(num_frames: int, clip: int) -> np.ndarray:
    """tau of each frame of clip 0 (preceding) or 1 (next)."""
    return clip + np.arange(num_frames) / num_frames


# ---- rendering ----------------------------------------------------------------------------------------------------
def _structure_boxes(scene: Scene) -> list[tuple[float, float, float, float, tuple]]:
    """(x0, y0, x1, y1, colour) boxes in canonical orientation, drawn over the balls where they overlap."""
    s = scene
    if s.family == "bounce":
        return [(s.structure, 0.0, 1.0, 1.0, GREY)]
    if s.family == "fall":
        return [(0.0, s.structure, 1.0, 1.0, GREY)]
    if s.family == "switch":
        return [(s.structure, s.row - 0.12, s.structure + WALL, s.row + 0.12, GREY)]
    if s.family == "occlusion":
        return [(s.structure - 0.125, 0.0, s.structure + 0.125, 1.0, GREY)]
    return []


def _box_mask(box, mirror: bool, yy, xx, size) -> np.ndarray:
    x0, y0, x1, y1 = box[:4]
    if mirror:
        x0, x1 = 1 - x1, 1 - x0
    return (xx >= x0 * size) & (xx < x1 * size) & (yy >= y0 * size) & (yy < y1 * size)


def lamp_box(scene: Scene) -> tuple[float, float, float, float]:
    x0 = 1 - WALL - LAMP - 0.02
    box = (x0, 0.03, x0 + LAMP, 0.03 + LAMP)
    return (1 - box[2], box[1], 1 - box[0], box[3]) if scene.mirror else box


def ball_masks(scene: Scene, state: FrameState, size: int) -> list[np.ndarray]:
    """The visible pixels of each ball (structures drawn on top hide them)."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    cover = np.zeros((size, size), bool)
    for box in _structure_boxes(scene):
        cover |= _box_mask(box, scene.mirror, yy, xx, size)
    r = RADIUS * size
    return [((xx - x * size) ** 2 + (yy - y * size) ** 2 <= r * r) & ~cover for x, y in state.balls]


def render_frame(scene: Scene, tau: float, size: int) -> np.ndarray:
    state = state_at(scene, tau)
    frame = np.empty((size, size, 3), np.uint8)
    frame[:] = scene.background
    yy, xx = np.mgrid[:size, :size] + 0.5
    for color, mask in zip(scene.colors, ball_masks(scene, state, size)):
        frame[mask] = COLORS[color]
    for box in _structure_boxes(scene):
        frame[_box_mask(box, scene.mirror, yy, xx, size)] = box[4]
    if scene.family == "switch":
        frame[_box_mask(lamp_box(scene), False, yy, xx, size)] = LAMP_ON if state.lamp_on else LAMP_OFF
    return frame


def render_clip(scene: Scene, clip: int, num_frames: int, size: int) -> np.ndarray:
    return np.stack([render_frame(scene, float(t), size) for t in frame_times(num_frames, clip)])


# ---- captions -----------------------------------------------------------------------------------------------------
def _side(scene: Scene) -> tuple[str, str]:
    """(toward, back): the direction of travel and its opposite."""
    return ("left", "right") if scene.mirror else ("right", "left")


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def captions(scene: Scene) -> dict[str, str]:
    c = scene.colors[0]
    toward, back = _side(scene)
    if scene.family == "bounce":
        ctx = f"{_a(c)} ball rolls {toward} toward a wall"
        nxt = f"the {c} ball bounces off the wall and rolls back {back}"
    elif scene.family == "fall":
        ctx = f"{_a(c)} ball falls toward the floor"
        nxt = f"the {c} ball lands on the floor and stays there"
    elif scene.family == "collision":
        ctx = f"{_a(c)} ball rolls {toward} toward a resting {scene.colors[1]} ball"
        nxt = f"the {c} ball hits the {scene.colors[1]} ball and stops; the {scene.colors[1]} ball rolls {toward}"
    elif scene.family == "switch":
        ctx = f"{_a(c)} ball rolls {toward} toward a switch; the lamp is off"
        nxt = f"the {c} ball presses the switch and the lamp lights up"
    else:
        ctx = f"{_a(c)} ball rolls {toward} behind a grey screen"
        nxt = f"the {c} ball comes out from behind the screen and keeps rolling {toward}"
    return {"context": ctx, "next": nxt, "image": describe_frame(scene, 0.0)}


def ball_at(color: str, x: float, y: float) -> str:
    """Where a ball is, in a frame caption's words ("a red ball at the top left")."""
    where = "left" if x < 0.4 else ("right" if x > 0.6 else "middle")
    height = "top" if y < 0.4 else ("bottom" if y > 0.6 else "centre")
    return f"{_a(color)} ball at the {height} {where}"


def describe_frame(scene: Scene, tau: float) -> str:
    """A caption of one frame (for the text-to-image phase of pretraining)."""
    state = state_at(scene, tau)
    parts = [ball_at(c, x, y) for c, (x, y) in zip(scene.colors, state.balls)]
    extras = {"bounce": "a grey wall", "fall": "a grey floor", "switch": "a switch and a lamp",
              "occlusion": "a grey screen", "collision": None}[scene.family]
    return ", ".join(parts + ([extras] if extras else []))


def scene_key(scene: Scene) -> tuple:
    """Identity of a scene up to imperceptible differences: used to keep splits disjoint."""
    q = lambda v: round(v * 32)  # noqa: E731  (2 px at 64 px)
    return (scene.family, scene.mirror, tuple(scene.colors), q(scene.row), q(scene.x0), q(scene.speed),
            q(scene.event), q(scene.structure), q(scene.other_x))



def describe_state(scene: Scene, clip: int, num_frames: int, size: int = 64) -> str:
    """What a careful observer reports about a clip: where things are at its end, how they move, the structures.

    Positions are in pixels of a `size`-pixel canvas and speeds in pixels per frame, so a VLM that can say this
    has to read positions and motion from the frames (the captions alone only name colours and directions)."""
    times = frame_times(num_frames, clip)
    end, before = state_at(scene, float(times[-1])), state_at(scene, float(times[-2]))
    px = lambda v: int(round(v * size))  # noqa: E731
    parts = [scene.family]
    for color, (x, y), (x0, y0) in zip(scene.colors, end.balls, before.balls):
        parts.append(f"{color} ball at {px(x)} {px(y)} moving {px(x - x0):+d} {px(y - y0):+d}")
    structure = {"bounce": "wall", "fall": "floor", "switch": "switch", "occlusion": "screen"}.get(scene.family)
    if structure:
        where = scene.structure if scene.family == "fall" or not scene.mirror else 1 - scene.structure
        parts.append(f"{structure} at {px(where)}")
    if end.lamp_on is not None:
        parts.append("lamp on" if end.lamp_on else "lamp off")
    return "; ".join(parts)
