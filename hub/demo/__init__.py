"""``hub demo``: the whole path on embedded defaults, with a synthetic police feed."""

from hub.demo.run import DemoOptions, DemoRuntime, DemoSummary, run_demo

__all__ = ["DemoOptions", "DemoRuntime", "DemoSummary", "run_demo"]
