"""Checks that read Amazon SageMaker: the model, endpoint config and endpoint that serve the
gated image, and their deployment safety controls."""
