"""SQLAlchemy 2 models. The database is the record of truth: what was fetched, composed and sent."""

from publisher.models.base import Base
from publisher.models.delivery import Delivery, DeliveryStatus
from publisher.models.digest import Digest, DigestPost, DigestStatus
from publisher.models.feed import Feed, Post
from publisher.models.mailing_list import Cadence, ListFeed, MailingList
from publisher.models.subscriber import Subscriber, Subscription, SubscriptionStatus

__all__ = [
    "Base", "Cadence", "Delivery", "DeliveryStatus", "Digest", "DigestPost", "DigestStatus", "Feed",
    "ListFeed", "MailingList", "Post", "Subscriber", "Subscription", "SubscriptionStatus",
]
