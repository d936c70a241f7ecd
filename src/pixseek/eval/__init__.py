"""Quality evaluation: caption retrieval recall and zero-shot classification accuracy of a model pack."""
