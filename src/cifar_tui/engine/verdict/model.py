"""A verdict as data: sentences (each with its statistic and caveats) and the caveats of the whole.

Rendered as plain lines (`lines`: the CLI, the headless end), Markdown and HTML (the reports); the app
renders the same data with its own styles; `--json` carries `to_dict()`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sentence:
    text: str  # plain words, one claim
    statistic: str = ""  # the figure behind the claim: "McNemar exact, p<0.001, 1,000 test images"
    caveats: list[str] = field(default_factory=list)  # what limits this claim in particular

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "statistic": self.statistic, "caveats": self.caveats}

    def plain(self) -> str:
        return self.text + (f" [{self.statistic}]" if self.statistic else "") + "".join(
            f" ({c})" for c in self.caveats)


@dataclass
class Verdict:
    subject: str  # "run 20270115-..." or "study data-efficiency"
    sentences: list[Sentence] = field(default_factory=list)  # the first one is the answer
    caveats: list[str] = field(default_factory=list)  # what limits every sentence: substitutions, one seed
    question: str = ""  # a study's question ("When does transfer beat scratch?")

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "question": self.question,
                "sentences": [s.to_dict() for s in self.sentences], "caveats": self.caveats}

    def lines(self) -> list[str]:
        """Plain text, one item a line: "Verdict (run X): ...", then "- ..." sentences, then "! caveats"."""
        head = f"Verdict ({self.subject})" + (f": {self.question}" if self.question else "")
        return [head, *[f"- {s.plain()}" for s in self.sentences], *[f"! {c}" for c in self.caveats]]

    def markdown(self) -> list[str]:
        out = ["## Verdict", ""]
        if self.question:
            out += [f"*{self.question}*", ""]
        out += [f"- {s.text}" + (f" *[{s.statistic}]*" if s.statistic else "")
                + "".join(f" ({c})" for c in s.caveats) for s in self.sentences]
        if self.caveats:
            out += ["", "Caveats:", "", *[f"- **{c}**" for c in self.caveats]]
        return out + [""]

    def html(self) -> str:
        e = html.escape
        items = "".join(f"<li>{e(s.text)}" + (f" <i>[{e(s.statistic)}]</i>" if s.statistic else "")
                        + "".join(f" ({e(c)})" for c in s.caveats) + "</li>" for s in self.sentences)
        caveats = "".join(f"<li><b>{e(c)}</b></li>" for c in self.caveats)
        question = f"<p><i>{e(self.question)}</i></p>" if self.question else ""
        return (f"<h2>Verdict</h2>{question}<ul>{items}</ul>"
                + (f"<p>Caveats:</p><ul>{caveats}</ul>" if caveats else ""))
