"""The ground floor of Kakehashi: the error hierarchy, the settings and the reference data, with
where the packaged data lies. `indexer` and `service` stand on it; it imports neither."""
