"""The one exception type users see: the CLI prints it on one line and exits with code 2."""


class NSPError(Exception):
    """Bad input or configuration, explained in one line that names the input and the problem."""
