"""Reading and writing files: snapshots, statistics, datasets."""
