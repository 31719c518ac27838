"""Parsing: fetched pages to listing items and articles (selectolax), feeds (feedparser), dates.

The pipeline calls `listing.parse_listing`, `listing.page_urls`, `listing.page_count`,
`feed.parse_feed`, `feed.article_from_feed_item` and `article.parse_article`; each of them first
rejects soft errors and bot walls through `soft_errors.check`. Nothing here fetches or stores.
"""
