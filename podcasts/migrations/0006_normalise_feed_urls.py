"""Rewrite stored feed URLs to their normalized spelling (podcasts.feeds.normalize_feed_url),
so the uniqueness check that now runs on normalized URLs also sees old rows.

Two rows that normalize to one URL are the duplicate this fixes: the older keeps the
normalized URL, the newer keeps its own spelling (nothing is merged or deleted here; a
curator can retire it) and is reported on stdout."""

from django.db import migrations

from podcasts.feeds import normalize_feed_url


def normalise_feed_urls(apps, schema_editor):
    Podcast = apps.get_model("podcasts", "Podcast")
    taken = set(Podcast.objects.values_list("feed_url", flat=True))
    for pk, url in Podcast.objects.order_by("pk").values_list("pk", "feed_url"):
        try:
            normalized = normalize_feed_url(url)
        except ValueError:
            continue  # not a URL urlsplit can read: leave it for a curator
        if normalized == url:
            continue
        if normalized in taken:
            print(f"  podcast {pk}: feed URL duplicates another podcast's once normalized; left as it is")
            continue
        Podcast.objects.filter(pk=pk).update(feed_url=normalized)
        taken.discard(url)
        taken.add(normalized)


class Migration(migrations.Migration):
    dependencies = [("podcasts", "0005_transcript_ad_spans")]

    operations = [migrations.RunPython(normalise_feed_urls, migrations.RunPython.noop)]
