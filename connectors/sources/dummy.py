"""The ``dummy`` source: publishes ``count`` seeded sample events, then idles.

For tests and for trying a deployment end to end before a real partner system is wired
in. It checkpoints how many it published, so a restart continues rather than repeats.
"""

from __future__ import annotations

import threading

from connectors.base.config import DummySourceConfig
from connectors.base.plugins import BuildContext, register_source
from connectors.base.source import SourceContext
from connectors.synthetic.samples import SampleGenerator

_CHECKPOINT = "published"


class DummySource:
    def __init__(self, config: DummySourceConfig, ctx: SourceContext) -> None:
        self.name = ctx.name
        self.config = config
        self.ctx = ctx

    def run(self, stop: threading.Event) -> None:
        self.ctx.metrics.state = "running"
        done = int(self.ctx.checkpoints.get(_CHECKPOINT, 0))
        generator = SampleGenerator(
            self.ctx.event_type(self.config.event_type), self.ctx.partner, seed=self.config.seed
        )
        events = generator.events(self.config.count)
        for i in range(done, len(events)):
            if stop.is_set():
                break
            self.ctx.read()
            self.ctx.publish(self.config.event_type, events[i])
            if (i + 1) % 100 == 0 or i + 1 == len(events):
                self.ctx.flush(stop)
                self.ctx.checkpoints.set(_CHECKPOINT, i + 1)
        while not stop.wait(1.0):
            self.ctx.metrics.progress()

    def close(self) -> None:
        self.ctx.close()


@register_source("dummy")
def _build(config: DummySourceConfig, build: BuildContext) -> DummySource:
    return DummySource(config, build.partner_context())
