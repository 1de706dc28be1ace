"""--shard I/N: the shards of a prompts file are disjoint, in order, and together the whole file."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motion_core.pipeline import parse_shard, shard


@given(st.lists(st.integers(), max_size=60), st.integers(1, 20))
def test_shards_are_disjoint_and_cover_the_list(items, count):
    parts = [shard(items, i, count) for i in range(1, count + 1)]
    assert [x for p in parts for x in p] == items  # union, in order, nothing twice
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "2", "1/2/3", ""])
def test_bad_shard_is_refused_naming_the_option(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_parse_shard():
    assert parse_shard("2/5") == (2, 5)
