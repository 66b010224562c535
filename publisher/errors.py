"""Typed errors. Each carries a message a user can act on; the CLI prints it as one line."""


class PublisherError(Exception):
    """Base of every error we raise on purpose."""


class ConfigError(PublisherError):
    """A setting is missing or malformed."""


class NotFoundError(PublisherError):
    """A named thing (feed, list, subscriber, digest) does not exist."""


class AlreadyExistsError(PublisherError):
    """A thing with that name or URL is already there."""


class FeedAlreadyAddedError(AlreadyExistsError):
    """The feed (`url`) is already added."""

    def __init__(self, message: str, *, url: str):
        super().__init__(message)
        self.url = url


class FeedMovedError(FeedAlreadyAddedError):
    """A feed URL redirects permanently to a feed that is already added (`url` is that feed's)."""


class InvalidInputError(PublisherError):
    """User input (an address, a time, a CSV row) is malformed."""


class StateError(InvalidInputError):
    """The thing is not in a state that allows this (pause a send that is not sending, resume a sent one)."""


class RateLimitedError(PublisherError):
    """Too many requests of one kind from one source: try again later."""


# --- ingest -----------------------------------------------------------------

class FetchError(PublisherError):
    """A feed could not be fetched."""


class BlockedAddressError(FetchError):
    """The feed's host resolves to an address we refuse (loopback, private, ...)."""


class FeedNotFoundError(FetchError):
    """A web page given in place of a feed leads to no feed we can read."""


class FeedTooLargeError(FetchError):
    """The response body exceeds the size cap."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, status: int, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FeedParseError(PublisherError):
    """The bytes are not a feed we can read."""


# --- delivery ---------------------------------------------------------------

class DeliveryError(PublisherError):
    """A message could not be handed to the mail server."""


class TemporaryDeliveryError(DeliveryError):
    """4xx or a lost connection before DATA: try again later."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """5xx: the server refused this recipient for good."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code


class MessageEncodingError(DeliveryError):
    """This message cannot be put on the wire as it is (an address needs SMTPUTF8 the server lacks, or is
    malformed): the row fails alone, and the address is not suppressed (nothing says its owner refused)."""


class UnknownDeliveryError(DeliveryError):
    """The connection was lost after DATA: the message may or may not have been accepted."""


class MailerUnavailableError(DeliveryError):
    """The mail server cannot be used at all right now (cannot connect, or it is over its rate limit)."""


class MailerAuthError(MailerUnavailableError):
    """The mail server refused our login or TLS: retrying will not help until a person fixes the settings."""


# --- cross-posting ------------------------------------------------------------

class CrosspostError(PublisherError):
    """A cross-post could not be made. status: the HTTP status, code: the platform's error name, if any."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class CrosspostRetryError(CrosspostError):
    """A timeout, a 5xx or a 429: the same request (same key) may be sent again, after `retry_at` if given."""

    def __init__(self, message: str, *, retry_at=None, status: int | None = None, code: str | None = None):
        super().__init__(message, status=status, code=code)
        self.retry_at = retry_at


class CrosspostRefusedError(CrosspostError):
    """The platform refused this post for good (a 4xx other than 429): sending it again cannot help."""


class CrosspostAuthError(CrosspostRefusedError):
    """The platform refused our credentials: a person must fix the target (`crosspost targets add` again)."""
