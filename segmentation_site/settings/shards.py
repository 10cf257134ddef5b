"""The Redis database of one `pytest -n` process (settings/test.py)."""

from urllib.parse import urlsplit, urlunsplit

#: Redis's default number of databases (`databases 16` in redis.conf).
REDIS_DATABASES = 16


def redis_database_for_shard(url: str, shard: str) -> str:
    """``url`` moved to the database after its own by the xdist worker's number ("gw1" is
    one after "gw0"), wrapping at REDIS_DATABASES."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(shard.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{(base + index) % REDIS_DATABASES}"))
