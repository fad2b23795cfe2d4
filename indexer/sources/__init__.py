"""Source adapters: each turns files into raw house records (dicts) plus rejections."""
