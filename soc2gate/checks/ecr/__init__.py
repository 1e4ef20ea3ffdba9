"""Checks that read Amazon ECR: the gated repository, its image, tags and scan."""
