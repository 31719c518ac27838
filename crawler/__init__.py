"""Fetching and parsing ministry pages: sources config, fetch, parse, parse workers, pipeline.

The pipeline (pipeline.py) runs the steps in order for each source: listings.py, then
articles.py, over the crawl context (context.py); fetch/ and parse/ are the policies and
extractors they use, workers/ parses in worker processes, urls.py says which URLs are one article.
"""
