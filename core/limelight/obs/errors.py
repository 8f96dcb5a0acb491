"""What can go wrong talking to OBS, as exceptions that say it plainly."""

from __future__ import annotations


class ObsError(Exception):
    """Base of every OBS error; ``str()`` is a sentence for a log line or the dashboard."""


class ObsUnavailable(ObsError):
    """The connection is not up (OBS not running, restarting, or refusing us)."""


class ObsAuthError(ObsUnavailable):
    """OBS refused the password (or wants one and none is configured)."""


class ObsTimeout(ObsUnavailable):
    """OBS did not answer within the configured timeout; the connection is dropped."""


class ObsRequestError(ObsError):
    """OBS answered a request with a failure status: its own code and comment are kept."""

    def __init__(self, request_type: str, code: int, comment: str = "") -> None:
        self.request_type = request_type
        self.code = code
        self.comment = comment
        name = STATUS_NAMES.get(code, "unknown status")
        text = f"{request_type} failed: OBS status {code} ({name})"
        super().__init__(f"{text}: {comment}" if comment else text)


class ObsActionDropped(ObsError):
    """An action was not carried out: OBS disabled, unreachable too long, or superseded."""


#: obs-websocket 5 RequestStatus codes (protocol.md), for readable log lines.
STATUS_NAMES: dict[int, str] = {
    0: "Unknown",
    10: "NoError",
    100: "Success",
    203: "MissingRequestType",
    204: "UnknownRequestType",
    205: "GenericError",
    206: "UnsupportedRequestBatchExecutionType",
    207: "NotReady",
    300: "MissingRequestField",
    301: "MissingRequestData",
    400: "InvalidRequestField",
    401: "InvalidRequestFieldType",
    402: "RequestFieldOutOfRange",
    403: "RequestFieldEmpty",
    404: "TooManyRequestFields",
    500: "OutputRunning",
    501: "OutputNotRunning",
    502: "OutputPaused",
    503: "OutputNotPaused",
    504: "OutputDisabled",
    505: "StudioModeActive",
    506: "StudioModeNotActive",
    600: "ResourceNotFound",
    601: "ResourceAlreadyExists",
    602: "InvalidResourceType",
    603: "NotEnoughResources",
    604: "InvalidResourceState",
    605: "InvalidInputKind",
    606: "ResourceNotConfigurable",
    607: "InvalidFilterKind",
    700: "ResourceCreationFailed",
    701: "ResourceActionFailed",
    702: "RequestProcessingFailed",
    703: "CannotAct",
}

#: The obs-websocket 5 RequestStatus code used by name in the code.
NOT_FOUND = 600
