"""SQLAlchemy 2 models. The database is the record of truth: what was fetched, composed and sent."""

from publisher.models.base import Base
from publisher.models.crosspost import (
    Crosspost,
    CrosspostEvent,
    CrosspostStatus,
    CrosspostTarget,
    CrosspostTargetFeed,
)
from publisher.models.delivery import Delivery, DeliveryEvent, DeliveryStatus
from publisher.models.editor import ApiToken, AuditEntry, Editor, EditorSession, LoginThrottle
from publisher.models.digest import Digest, DigestDraft, DigestPost, DigestStatus
from publisher.models.feed import Feed, Post
from publisher.models.mail import Mail
from publisher.models.mailing_list import Cadence, ListFeed, MailingList
from publisher.models.subscriber import Subscriber, Subscription, SubscriptionStatus
from publisher.models.ops import Heartbeat, OpsCounter, PeriodicRun
from publisher.models.websub import HubSubscription
from publisher.models.bounce import BounceEvent, UnverifiedReport
from publisher.models.edition import EditionSlot
from publisher.models.rate_event import RateEvent
from publisher.models.suppression import Suppression

__all__ = [
    "ApiToken", "AuditEntry", "Editor", "EditorSession", "LoginThrottle",
    "Base", "Cadence", "Crosspost", "CrosspostEvent", "CrosspostStatus", "CrosspostTarget", "CrosspostTargetFeed",
    "HubSubscription", "Delivery", "DeliveryEvent", "DeliveryStatus", "Digest", "DigestDraft", "DigestPost",
    "DigestStatus", "Feed", "ListFeed", "Mail", "MailingList", "Post", "Subscriber", "Subscription",
    "SubscriptionStatus",
    "BounceEvent", "EditionSlot", "RateEvent", "Suppression", "UnverifiedReport",
    "Heartbeat", "OpsCounter", "PeriodicRun",
]
