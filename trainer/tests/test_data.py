import json
import os
import tempfile
import unittest

from ftm_trainer.data import DataError, dpo_pair, load_records, sft_record

WHERE = ("train.jsonl", 7)


class SftRecordTest(unittest.TestCase):
    def test_chat_splits_before_the_last_answer_when_loss_is_on_the_completion(self):
        row = {"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris", "weight": 1},
        ]}
        record = sft_record(row, WHERE, "completion")
        self.assertEqual([m["content"] for m in record["prompt"]], ["Be brief.", "Hi", "Hello", "Capital of France?"])
        self.assertEqual(record["completion"], [{"role": "assistant", "content": "Paris"}])

    def test_chat_stays_a_conversation_when_loss_is_on_all_tokens(self):
        row = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
        self.assertEqual(sft_record(row, WHERE, "all"), {"messages": row["messages"]})

    def test_completion_and_text_rows(self):
        self.assertEqual(sft_record({"prompt": "2+2=", "completion": "4"}, WHERE, "completion"), {"prompt": "2+2=", "completion": "4"})
        self.assertEqual(sft_record({"prompt": "2+2=", "completion": "4"}, WHERE, "all"), {"text": "2+2=4"})
        self.assertEqual(sft_record({"text": "Once upon a time"}, WHERE, "completion"), {"text": "Once upon a time"})

    def test_errors_name_the_line_and_field(self):
        with self.assertRaises(DataError) as caught:
            sft_record({"messages": [{"role": "wizard", "content": "x"}]}, WHERE, "completion")
        self.assertEqual((caught.exception.line, caught.exception.field), (7, "messages[0].role"))
        with self.assertRaises(DataError) as caught:
            sft_record({"messages": [{"role": "user", "content": "no answer"}]}, WHERE, "completion")
        self.assertEqual(caught.exception.field, "messages")


class DpoPairTest(unittest.TestCase):
    def test_canonical_preference_row(self):
        row = {
            "prompt": [{"role": "user", "content": "Say hi"}],
            "chosen": [{"role": "assistant", "content": "Hello there!"}],
            "rejected": [{"role": "assistant", "content": "no"}],
        }
        self.assertEqual(dpo_pair(row, WHERE), {"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]})

    def test_string_fields(self):
        pair = dpo_pair({"prompt": "Say hi", "chosen": "Hello!", "rejected": "no"}, WHERE)
        self.assertEqual(pair["prompt"], [{"role": "user", "content": "Say hi"}])
        self.assertEqual(pair["chosen"], [{"role": "assistant", "content": "Hello!"}])

    def test_whole_conversations_are_split_at_their_shared_prefix(self):
        shared = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
        row = {"chosen": shared + [{"role": "assistant", "content": "good"}], "rejected": shared + [{"role": "assistant", "content": "bad"}]}
        pair = dpo_pair(row, WHERE)
        self.assertEqual(pair["prompt"], shared)
        self.assertEqual(pair["chosen"], [{"role": "assistant", "content": "good"}])
        self.assertEqual(pair["rejected"], [{"role": "assistant", "content": "bad"}])

    def test_identical_answers_and_missing_prompt_are_refused(self):
        with self.assertRaises(DataError) as caught:
            dpo_pair({"prompt": "x", "chosen": "same", "rejected": "same"}, WHERE)
        self.assertEqual(caught.exception.field, "rejected")
        with self.assertRaises(DataError) as caught:
            dpo_pair({"chosen": "a", "rejected": "b"}, WHERE)
        self.assertEqual(caught.exception.field, "prompt")


class LoadRecordsTest(unittest.TestCase):
    def write(self, lines):
        handle = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8")
        handle.write("\n".join(lines) + "\n")
        handle.close()
        self.addCleanup(os.unlink, handle.name)
        return handle.name

    def test_blank_lines_are_skipped_and_lines_counted(self):
        path = self.write([json.dumps({"prompt": "a", "completion": "b"}), "", "{not json"])
        with self.assertRaises(DataError) as caught:
            load_records(path, "sft")
        self.assertEqual(caught.exception.line, 3)

    def test_mixed_shapes_are_refused(self):
        path = self.write([json.dumps({"prompt": "a", "completion": "b"}), json.dumps({"text": "c"})])
        with self.assertRaises(DataError):
            load_records(path, "sft")


if __name__ == "__main__":
    unittest.main()
