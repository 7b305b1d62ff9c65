"""The exceptions users see: the CLI prints them on one line (NSPError: exit code 2; Stopped: 128 + the signal)."""


class NSPError(Exception):
    """Bad input or configuration, explained in one line that names the input and the problem."""


class Stopped(Exception):
    """A long job stopped by a signal after keeping its work: the CLI prints the one-line message and exits with
    128 + the signal's number, as a process killed by it would."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum
