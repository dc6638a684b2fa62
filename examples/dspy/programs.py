"""A DSPy program of our own, for examples/dspy/main.ts: answer a question
with reasoning, then check the answer with a second prediction.

DSPy's DummyLM answers instead of a real model: no API key, no network.
"""

from __future__ import annotations

import dspy


class CheckedAnswer(dspy.Module):
    """Answers with a chain of thought, then asks whether the answer holds up."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = dspy.ChainOfThought("question -> answer")
        self.check = dspy.Predict("question, answer -> verdict")

    def forward(self, question: str) -> dspy.Prediction:
        answered = self.answer(question=question)
        checked = self.check(question=question, answer=answered.answer)
        return dspy.Prediction(reasoning=answered.reasoning, answer=answered.answer, verdict=checked.verdict)


def calls_made(lm: dspy.BaseLM) -> int:
    """How many requests the language model has answered so far."""
    return len(lm.history)
