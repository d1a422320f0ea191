"""User-facing errors: one line naming the problem and the fix.

The CLI prints ``str(error)`` and exits with status 2; library users catch
:class:`AihfbenchError` (or the builtin it also derives from).
"""


class AihfbenchError(Exception):
    """Base class for errors caused by bad input, with a message that says how to fix it."""


class UnknownTaskError(AihfbenchError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class UnknownAlgoError(AihfbenchError, KeyError):
    def __str__(self) -> str:
        return self.args[0]


class BudgetError(AihfbenchError, ValueError):
    pass


class ConfigError(AihfbenchError, ValueError):
    pass


class OutputError(AihfbenchError, OSError):
    pass
