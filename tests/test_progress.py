"""Long loops say in the rule's log where they are: count, share, rate and time left, one line per update."""

import logging

from rait.progress import progress


def test_progress_lines_in_the_log_with_rate_and_time_left(caplog, monkeypatch):
    monkeypatch.setenv("RAIT_PROGRESS_INTERVAL", "0")
    with caplog.at_level(logging.INFO, logger="rait.test"):
        assert list(progress(range(4), desc="sampling 8 prompts", unit="batch", logger="rait.test")) == [0, 1, 2, 3]
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0].startswith("sampling 8 prompts: 0/4 batch (0%)")
    assert lines[-1].startswith("sampling 8 prompts: 4/4 batch (100%)") and "batch/s" in lines[-1]
    assert all(" left" in line and "\r" not in line for line in lines)
    assert len(lines) == len(set(lines)) == 5  # no line twice (tqdm redraws its last state on closing)


def test_progress_at_the_default_interval_logs_the_start_and_the_end(caplog):
    with caplog.at_level(logging.INFO, logger="rait.test"):
        list(progress(range(1000), desc="x", unit="item", logger="rait.test"))
    assert [record.getMessage().split(":")[1].split()[0] for record in caplog.records] == ["0/1000", "1000/1000"]


def test_disabled_progress_is_the_items_themselves():
    items = [1, 2]
    assert progress(items, desc="x", unit="item", logger="rait.test", enabled=False) is items


def test_a_library_taking_a_tqdm_constructor_logs_through_it(caplog, monkeypatch):
    """As vLLM's LLM.generate(use_tqdm=...) calls it: its own total, desc and keywords, then update() per request."""
    from rait.progress import tqdm_factory

    monkeypatch.setenv("RAIT_PROGRESS_INTERVAL", "0")
    with caplog.at_level(logging.INFO, logger="rait.test"):
        bar = tqdm_factory("rait.test")(total=3, desc="Processed prompts", dynamic_ncols=True, postfix="speed")
        for _ in range(3):
            bar.update(1)
        bar.close()
    assert caplog.records[-1].getMessage().startswith("Processed prompts: 3/3 it (100%)")
