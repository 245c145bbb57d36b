"""Imported by a test's consumer (tests/queue/consumer.py): the worker reports its progress every
0.2 s instead of every 2 s, so that a test sees the moments it waits for (a batch flushed, not yet
committed) even on a fast machine."""

from services import job_progress

job_progress.BEAT_EVERY = 0.2
