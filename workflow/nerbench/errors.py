"""The config's one-line error, in a module of its own: the host's CPU features raise it too
(NERBENCH_CPU_FEATURES), and the timing harness imports host.py without the config's validation."""


class ConfigError(ValueError):
    """A config that cannot run: one line naming the key."""

    @property
    def line(self) -> str:
        return f"nerbench: config error: {self}"
