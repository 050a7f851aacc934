"""Timeline: the one case timeline police and prosecution share, hash-chained per case."""
