"""The zoo: one `get_config(smoke=False)` file per family x dataset. `mmgen-jax list` shows them."""
