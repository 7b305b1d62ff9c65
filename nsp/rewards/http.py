"""`http`: any OpenAI-compatible chat endpoint as the judge, for users with a remote (or another local) model.

Frames of the context and of the prediction go as PNG data URLs in one user message with the question; the answer's
first word decides (Yes -> 1, No -> 0). Options: `url` (the chat completions URL), `model`, `api_key_env` (the name
of an environment variable holding the key), `frames` (per clip), `timeout` (seconds)."""

import base64
import io
import json
import os
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

from nsp.errors import NSPError
from nsp.rewards.base import Candidate, Scores, register
from nsp.rewards.judge import QUESTION


def _png_data_url(frame: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@register("http")
class HTTPJudgeReward:
    def __init__(self, model=None, url: str | None = None, model_name: str = "judge", api_key_env: str | None = None,
                 frames: int = 4, timeout: float = 60.0, question: str = QUESTION):
        if not url:
            raise NSPError("reward http needs rl.reward_options.http.url (an OpenAI-compatible chat completions URL)")
        self.url, self.model_name, self.frames, self.timeout, self.question = url, model_name, frames, timeout, question
        self.api_key = os.environ.get(api_key_env) if api_key_env else None

    def _frames(self, clip: np.ndarray) -> list[dict]:
        idx = np.linspace(0, len(clip) - 1, min(self.frames, len(clip))).round().astype(int)
        return [{"type": "image_url", "image_url": {"url": _png_data_url(clip[i])}} for i in idx]

    def ask(self, candidate: Candidate) -> float:
        content = [{"type": "text", "text": "The scene:"}]
        if candidate.context is not None:
            content += self._frames(candidate.context)
        content += [{"type": "text", "text": "What the model predicts next:"}, *self._frames(candidate.generated),
                    {"type": "text", "text": self.question}]
        body = json.dumps({"model": self.model_name, "max_tokens": 3, "temperature": 0,
                           "messages": [{"role": "user", "content": content}]}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())["choices"][0]["message"]["content"]
        except (urllib.error.URLError, TimeoutError, KeyError, IndexError, json.JSONDecodeError) as err:
            raise NSPError(f"reward http: {self.url}: no usable answer ({type(err).__name__}: {err})") from None
        word = answer.strip().split()[0].strip(".,!").lower() if answer.strip() else ""
        return 1.0 if word == "yes" else 0.0

    def __call__(self, candidates: list[Candidate]) -> Scores:
        values = np.array([self.ask(c) for c in candidates])
        return Scores(values, values > 0.5)
