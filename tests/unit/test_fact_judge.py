"""The fact judge (appliance/assistants/fact_judge.py) and how a reply uses it
(appliance/assistants/checked_reply.py), on the fake brain: the judge is asked only when the
reply's own first sentence was kept back, and what it picks is said word for word."""

from __future__ import annotations

from fakes import ScriptedBrain

from appliance.assistants.checked_reply import speak_checked
from appliance.assistants.fact_judge import JUDGE_KEY, FactJudge, judge_input
from appliance.assistants.facts import Found
from appliance.assistants.grounding import Support
from appliance.config.facts import Fact

ELM = Found(
    Fact(topic="house on Elm Street", answer="A 3 bedroom house at 24 Elm Street."), 1.0, "team"
)
PETS = Found(
    Fact(topic="pets", answer="Pets are allowed in the Oak Avenue townhouse."), 0.5, "team"
)
DEFERRAL = "I don't have that information here; I can take a message."
OFFER = "If that doesn't answer your question, I can take a message."


def _judge(choices: dict[str, str]) -> tuple[FactJudge, ScriptedBrain]:
    brain = ScriptedBrain(choices=choices)
    judge = FactJudge(brain)
    judge.warm()
    return judge, brain


def test_the_judge_asks_fact_by_fact_and_takes_the_one_it_accepts() -> None:
    judge, brain = _judge({"Pets are allowed": "yes"})
    found, probs = judge.pick("We have a cat, where could we live?", [ELM, PETS])
    assert found is PETS and probs == {"house on Elm Street": 0.0, "pets": 1.0}
    assert [c[:2] for c in brain.choose_calls] == [(JUDGE_KEY, ["no", "yes"])] * 2
    assert brain.choose_calls[0][2] == "no" and brain.choose_calls[1][2] == "yes"
    # no fact accepted: none; a sure first fact: the later ones are not asked
    assert judge.pick("Is there a garage at the Elm Street house?", [ELM])[0] is None
    calls = len(brain.choose_calls)
    assert judge.pick("Where do pets go?", [PETS, ELM])[0] is PETS
    assert len(brain.choose_calls) == calls + 1
    assert judge.pick("", [ELM]) == (None, {})  # nothing asked, nothing to judge
    assert judge_input(" Is there a garage? ", ELM) == (
        "Fact: house on Elm Street: A 3 bedroom house at 24 Elm Street.\n"
        "Question: Is there a garage?"
    )


def _speak(reply: str, answer: str, asked: list[int]) -> tuple[str, bool]:
    def judged() -> str:
        asked.append(1)
        return answer

    heard: list[str] = []
    checked = speak_checked(
        iter(reply.split(" ")[:1] + [" " + w for w in reply.split(" ")[1:]]),
        secret="You are the front desk.",
        support=Support.of(["A 3 bedroom house at 24 Elm Street."]),
        language="en",
        refusal="I can't help with that.",
        deferral=DEFERRAL,
        known=True,
        answer=judged,
        after_answer=OFFER,
        on_text=heard.append,
    )
    assert "".join(heard).strip() == checked.text
    return checked.text, checked.answered


def test_a_kept_back_sentence_is_replaced_by_the_judged_fact_or_the_deferral() -> None:
    asked: list[int] = []
    # the model invents; the judge finds the fact: the fact and the offer are said
    said, answered = _speak("It has 5 bedrooms.", "A 3 bedroom house at 24 Elm Street.", asked)
    assert said == f"A 3 bedroom house at 24 Elm Street. {OFFER}" and answered
    # the model invents; no fact answers: the deferral
    said, answered = _speak("Yes, there is a garage.", "", asked)
    assert said == DEFERRAL and not answered
    # the model says it does not know, but facts came with the turn: the judge is asked too
    said, answered = _speak("I don't know that.", "A 3 bedroom house at 24 Elm Street.", asked)
    assert answered and said.startswith("A 3 bedroom house")
    assert len(asked) == 3
    # a supported reply is spoken as generated and the judge is not asked
    said, answered = _speak("It is at 24 Elm Street.", "unused", asked)
    assert said == "It is at 24 Elm Street." and not answered and len(asked) == 3


def test_a_kept_back_pass_on_is_said_after_the_fact_or_stands_alone() -> None:
    asked: list[int] = []
    passed = "I'll pass your request to the team; someone will call you back."
    # the caller asks what a fact answers, the model only passes it on: the fact, then the
    # pass-on (the caller still wants something done), not the offer of a message
    said, answered = _speak(passed, "A 3 bedroom house at 24 Elm Street.", asked)
    assert said == f"A 3 bedroom house at 24 Elm Street. {passed}" and answered
    # no fact answers: the reply's own pass-on stands (not the deferral)
    said, answered = _speak(passed, "", asked)
    assert said == passed and not answered and len(asked) == 2


def test_a_two_part_question_is_judged_by_its_best_part() -> None:
    from appliance.assistants.fact_judge import parts_of

    assert parts_of("What does express shipping cost, and can you deliver the same evening?") == [
        "What does express shipping cost, and can you deliver the same evening?",
        "What does express shipping cost",
        "can you deliver the same evening",
    ]
    assert parts_of("Do you have a cat and dog policy?") == ["Do you have a cat and dog policy?"]
    assert parts_of("Price? And hours?") == ["Price? And hours?"]  # parts too short: whole only
    # the judge accepts the fact on its part; the whole question alone would be refused
    judge, brain = _judge({"Question: What does the house cost": "yes"})
    brain.odds["cost, and"] = {"no": 0.8, "yes": 0.2}  # the whole question: refused
    elm = Found(Fact(topic="house", answer="The house costs 300,000 dollars."), 1.0, "team")
    found, probs = judge.pick("What does the house cost, and is the price negotiable?", [elm])
    assert found is elm and probs == {"house": 1.0}
    assert len(brain.choose_calls) == 3  # the whole and both parts
