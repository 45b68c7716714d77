"""jieba's prefix dictionary read from jieba's own cache in one piece."""
import jieba

from pipeline.archive import jiebadict


def _tokenizer(tmp_path) -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(tmp_path)
    return tok


def test_reads_the_cache_jieba_wrote_and_segments_alike(tmp_path):
    built = jiebadict.initialize(_tokenizer(tmp_path))     # no cache yet: jieba builds and writes it
    assert (tmp_path / "jieba.cache").exists()
    fast = _tokenizer(tmp_path)

    def jieba_path(*a, **k):
        raise AssertionError("jieba's own (slow) loader was used")
    fast.initialize = jieba_path
    jiebadict.initialize(fast)
    assert fast.initialized and fast.total == built.total and fast.FREQ == built.FREQ
    text = "四川省机关事务管理局启动公务用车管理专项领域示范点建设"
    assert fast.lcut(text) == built.lcut(text)


def test_a_damaged_cache_is_rebuilt_by_jieba(tmp_path):
    (tmp_path / "jieba.cache").write_bytes(b"\x00not marshal data")
    tok = jiebadict.initialize(_tokenizer(tmp_path))
    assert tok.initialized and len(tok.FREQ) > 300_000
    assert jiebadict.initialize(_tokenizer(tmp_path)).FREQ == tok.FREQ     # and written again
