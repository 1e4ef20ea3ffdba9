"""Checks of provenance: who signed the images that serve traffic (AWS Signer through ECR
managed signing and Notation)."""
