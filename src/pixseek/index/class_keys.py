"""One storage-safe key per class of a pack, for the per-class confidence columns and fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class ClassKeys:
    """Keys made by `make_key`; refuses class names that collide once made keys, and unknown names."""

    def __init__(self, class_names: Sequence[str], make_key: Callable[[str], str]) -> None:
        self.by_class = {name: make_key(name) for name in class_names}
        if len(set(self.by_class.values())) != len(self.by_class):
            raise ValueError(f"class names collide once made storage keys: {list(class_names)}")

    def key(self, class_name: str) -> str:
        try:
            return self.by_class[class_name]
        except KeyError:
            raise ValueError(f"unknown class {class_name!r}; not among the model pack's classes") from None
