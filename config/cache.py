"""Django's Redis cache, reusing one redis-py client per connection pool.

Django's RedisCacheClient builds a new redis.Redis object for every cache call; on
a small server that is about 0.1 ms each, and a signed-in page makes two or three
calls (its session, a search's ranked hits). The client is thread-safe; the
connections still come from Django's pool.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


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
