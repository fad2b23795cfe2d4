"""The read path of Kakehashi: load an index version, match and rank, explain, flag the funding
route, and serve it all through the API and the CLI. Imports `indexer`, never the reverse."""
