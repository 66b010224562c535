import pytest

from tests.support.ledger import ledger_settings, open_session


@pytest.fixture(params=["sqlite", "postgres"])
def consent_settings(request, tmp_path):
    """The consent tests run on SQLite and, when PUBLISHER_TEST_DATABASE_URL is set, on PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else \
        f"sqlite:///{tmp_path / 'consent.db'}"
    return ledger_settings(tmp_path, database_url=url)


@pytest.fixture
def db(consent_settings):
    with open_session(consent_settings) as session:
        yield session
    session.get_bind().dispose()
