from config.cache import RedisCache


def test_redis_cache_stores_and_reuses_one_client_per_pool(redis_url):
    cache = RedisCache(redis_url, {})

    cache.set("castnotes-test-key", {"ids": [3, 1, 2]}, 30)

    assert cache.get("castnotes-test-key") == {"ids": [3, 1, 2]}
    assert cache.get("missing", "default") == "default"
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    assert cache.delete("castnotes-test-key") and cache.get("castnotes-test-key") is None
