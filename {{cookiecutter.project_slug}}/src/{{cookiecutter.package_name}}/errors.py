"""Errors that end a command with a one-line message instead of a traceback."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type when the message is empty."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class PipelineError(Exception):
    """Something the user can fix: bad params, bad data, a missing file."""


class ParamsError(PipelineError):
    """params.yaml is missing, unreadable or invalid."""


class DataError(PipelineError):
    """A data or model file is missing, unreadable or lacks declared columns."""


class ValidationFailed(PipelineError):
    """The data broke expectations; the message lists them."""


class TrackingError(PipelineError):
    """The MLflow tracking store could not be reached or refused a request."""


class PromotionRefused(PipelineError):
    """The candidate may not be promoted from this workspace or commit; nothing was moved."""
