"""Cache backends: Django's Redis cache reusing one client per pool, and a database
cache whose increment is atomic (rate limits without Redis).

Django's Redis cache, reusing one redis-py client per connection pool.

Django's RedisCacheClient builds a new redis.Redis object for every cache call; on
a small server that is about 0.1 ms each, and a signed-in page makes two or three
calls (its session, a search's ranked hits). The client is thread-safe; the
connections still come from Django's pool.
"""

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.db import connections, router, transaction


class ReusedClientRedisCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients_by_pool", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient


class DatabaseCache(DjangoDatabaseCache):
    """Django's database cache with an atomic `incr`: the rate-limit counters without
    Redis, shared by every process. Django's own incr reads then writes, so two
    workers could both count from the same value; here the row is locked first
    (SELECT … FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction mode of
    config/settings.py takes the write lock at BEGIN)."""

    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cache_key = self.make_and_validate_key(key, version=version)
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT cache_key FROM {table} WHERE cache_key = %s{lock}", [cache_key])
            return super().incr(key, delta, version)
