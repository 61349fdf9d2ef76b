"""The history policy: recent screenshots as turns, older steps folded in chunks,
and a prompt prefix that stays stable between folds."""

from __future__ import annotations

import itertools

from agent.history import History, HistoryConfig, Turn
from model.messages import ImagePart, Message


def image(n: int) -> ImagePart:
    return ImagePart(data=f"img{n}".encode(), width=64, height=32)


def build(steps: int, cfg: HistoryConfig) -> list[list[Message]]:
    """The prompts of steps 1..steps, as the loop builds them."""
    h = History(system="SYS", instruction="do it", config=cfg)
    prompts = []
    for step in range(1, steps + 1):
        prompts.append(h.messages(image(step)))
        h.add(Turn(step=step, image=image(step), reply=f"reply {step}", summary=f"did {step}"))
    return prompts


def images_in(messages: list[Message]) -> list[bytes]:
    return [p.data for m in messages for p in m.images()]


def test_recent_screenshots_are_turns_older_steps_are_summaries() -> None:
    cfg = HistoryConfig(recent_images=2, fold_chunk=3)
    prompts = build(12, cfg)
    for step, msgs in enumerate(prompts, start=1):
        past_images = len(images_in(msgs)) - 1
        assert images_in(msgs)[-1] == f"img{step}".encode()  # the current screenshot is last
        done = step - 1
        assert past_images == (done if done < 5 else 2 + (done - 5) % 3)
        folded = (step - 1) - past_images
        first_user = msgs[1].content[0].text
        for s in range(1, folded + 1):
            assert f"Step {s}: did {s};" in first_user
        assert f"Step {folded + 1}:" not in first_user


def test_prefix_is_stable_between_folds() -> None:
    """Except on fold steps, prompt N (less its last user turn) is a prefix of prompt N+1."""
    cfg = HistoryConfig(recent_images=2, fold_chunk=3)
    prompts = build(15, cfg)
    changes = 0
    for prev, cur in itertools.pairwise(prompts):
        if cur[: len(prev)] == prev:
            assert len(cur) == len(prev) + 2  # the previous reply and one new user turn
        else:
            changes += 1
            assert cur[0] == prev[0]  # the system prompt never changes
    # 14 transitions, one fold every 3 steps after the first 4
    assert changes == 4


def test_sliding_window_changes_prefix_every_step() -> None:
    prompts = build(8, HistoryConfig(recent_images=3, fold_chunk=1))
    changes = sum(cur[: len(prev)] != prev for prev, cur in itertools.pairwise(prompts))
    assert changes == 8 - 1 - 3  # every step once the window is full
    assert all(len(images_in(p)) <= 4 for p in prompts)


def test_feedback_is_kept_with_its_turn_and_long_replies_are_clipped() -> None:
    cfg = HistoryConfig(recent_images=2, fold_chunk=2, max_reply_chars=200)
    h = History(system="SYS", instruction="x", config=cfg)
    h.add(Turn(step=1, image=image(1), reply="r" * 1000, summary="s1"))
    first = h.messages(image(2), ("Your previous reply could not be used: no tool call",))
    h.add(Turn(step=2, image=image(2), reply="ok", summary="s2",
               feedback=("Your previous reply could not be used: no tool call",)))
    second = h.messages(image(3))
    assert second[: len(first)] == first
    assert len(second[3].content[0].text) <= 201

