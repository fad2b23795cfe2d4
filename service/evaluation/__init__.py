"""`kakehashi evaluate`: labelled evaluation sets, ranking configurations, metrics."""
