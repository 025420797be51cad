"""Services, the stage runner and the CLI of the streaming APIGen pipeline."""

__all__: list[str] = []
