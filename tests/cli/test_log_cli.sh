#!/usr/bin/env bash
# `weir log dump|verify` on a real partition folder written through weir_plog_*
# by make_log (tests/cli/make_log.c), then damaged in copies: verify names the
# damaged file and exits 1, neither command changes a byte, usage errors exit 2.
set -u
weir=$1
make_log=$2
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
expect() { # name, want_rc, want_text (grep -E), command...
  local name=$1 want_rc=$2 want_text=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want_rc" ] && grep -qE -- "$want_text" <<<"$out"; then
    pass
  else
    fail "$name: rc=$rc (want $want_rc), want /$want_text/, output:"; echo "$out" | head -8
  fi
}
expect_no() { # name, text that must not appear, command...
  local name=$1 text=$2; shift 2
  if "$@" 2>&1 | grep -qE -- "$text"; then fail "$name: /$text/ appears"; else pass; fi
}
# Every file's name, size, mtime and checksum: equal before and after = untouched.
state() { (cd "$1" && find . -printf '%p %s %T@\n' | sort && find . -type f -exec md5sum {} + | sort); }
# A copy of the healthy folder under $tmp/<case>/orders-0 (the name must stay
# orders-0: the checkpoints name that partition).
copy() { mkdir -p "$tmp/$1" && cp -a "$good" "$tmp/$1/" && echo "$tmp/$1/orders-0"; }
# Overwrites bytes of a file at a position, keeping its size.
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

good=$tmp/good/orders-0
mkdir -p "$tmp/good"
# 15 batches of 3 records in 3 segments (offsets 0, 15, 30), an index entry
# about every 150 bytes, epochs 0 (offsets 0..23) and 1 (24..44).
if ! "$make_log" "$good" --batches 15 --records 3 --segment-bytes 700 --index-interval-bytes 150; then
  echo "FAIL make_log could not write the folder"; exit 1
fi
seg0=00000000000000000000 seg1=00000000000000000015 seg2=00000000000000000030
before=$(state "$good")

# ---- dump ----
expect dump_names_the_first_segment 0 "^Dumping $good/$seg0.log$" "$weir" log dump "$good"
order=$("$weir" log dump "$good" | sed -n 's|^Dumping .*/\([0-9]*\.log\)$|\1|p' | tr '\n' ' ')
if [ "$order" = "$seg0.log $seg1.log $seg2.log " ]; then pass; else fail "dump segment order: '$order'"; fi
expect dump_shows_the_first_batch 0 "^baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false position: 0 CreateTime: 1700000000002 size: [0-9]+ magic: 2 compresscodec: none crcValid: true$" "$weir" log dump "$good"
expect dump_shows_an_idempotent_batch 0 "^baseOffset: 3 lastOffset: 5 count: 3 baseSequence: 0 lastSequence: 2 producerId: 1000 producerEpoch: 0 .* position: 130 " "$weir" log dump "$good"
expect dump_shows_the_last_batch_in_epoch_1 0 "^baseOffset: 42 lastOffset: 44 count: 3 .* partitionLeaderEpoch: 1 " "$weir" log dump "$good"
expect_no dump_of_a_healthy_log_has_no_bad_crc "crcValid: false|damaged" "$weir" log dump "$good"
expect_no dump_without_records_prints_none "^\| offset" "$weir" log dump "$good"
expect dump_summary 0 "^Summary: segments: 3 batches: 15 records: 45 bytes: [0-9]+ startOffset: 0 endOffset: 45$" "$weir" log dump "$good"
expect dump_shows_leader_epochs 0 "^epoch: 1 startOffset: 24$" "$weir" log dump "$good"
expect dump_shows_the_high_watermark 0 "^highWatermark: 45$" "$weir" log dump "$good"
expect dump_shows_the_recovery_point 0 "^recoveryPoint: 45$" "$weir" log dump "$good"
expect dump_shows_the_snapshot 0 "^producerId: 1000 producerEpoch: 0 .*lastSequence: 20 lastOffset: 44 " "$weir" log dump "$good"
expect dump_indexes_shows_offset_entries 0 "^offset: 8 position: 254$" "$weir" log dump "$good" --indexes
expect dump_indexes_shows_time_entries 0 "^timestamp: 1700000002002 offset: 8$" "$weir" log dump "$good" --indexes
expect dump_records_shows_text 0 "^\| offset: 0 CreateTime: 1700000000000 keySize: 5 valueSize: 9 sequence: -1 headerKeys: \[h1\] key: key-0 payload: value-0-0$" "$weir" log dump "$good" --records
expect dump_records_shows_sequences 0 "^\| offset: 4 CreateTime: 1700000001001 .* sequence: 1 " "$weir" log dump "$good" --records
expect dump_records_shows_binary_as_hex 0 "key: key-9 payload: 0x000102fffe$" "$weir" log dump "$good" --records
expect dump_one_log_file 0 "^baseOffset: 15 lastOffset: 17 " "$weir" log dump "$good/$seg1.log"
expect dump_one_log_file_names_it 0 "^Dumping $good/$seg1.log$" "$weir" log dump "$good/$seg1.log"
expect dump_one_index_file 0 "^offset: 23 position: 254$" "$weir" log dump "$good/$seg1.index"
expect dump_one_timeindex_file 0 "^timestamp: 1700000007002 offset: 23$" "$weir" log dump "$good/$seg1.timeindex"
expect dump_one_snapshot_file 0 "^producerId: 1000 " "$weir" log dump "$good/00000000000000000045.snapshot"
expect dump_one_epoch_checkpoint 0 "^epoch: 0 startOffset: 0$" "$weir" log dump "$good/leader-epoch-checkpoint"

# ---- verify ----
expect verify_healthy_folder 0 "^ok: 3 segments, 15 batches, offsets 0..44$" "$weir" log verify "$good"
expect verify_accepts_a_trailing_slash 0 "^ok: 3 segments" "$weir" log verify "$good/"
after=$(state "$good")
if [ "$before" = "$after" ]; then pass; else fail "dump/verify changed the healthy folder"; fi

d=$(copy flip)
b=$(od -An -tu1 -j200 -N1 "$d/$seg0.log" | tr -d ' ')
poke "$d/$seg0.log" 200 "\\$(printf %03o $((b ^ 0xff)))"
flipped=$(state "$d")
expect verify_flipped_byte 1 "^$seg0.log: byte 130, offset 3: CRC-32C mismatch" "$weir" log verify "$d"
expect_no verify_flipped_byte_blames_only_the_log "^$seg0.(index|timeindex)" "$weir" log verify "$d"
expect verify_flipped_byte_verdict 1 "^damaged: [0-9]+ problems?$" "$weir" log verify "$d"
expect dump_flipped_byte_shows_bad_crc 0 "^baseOffset: 3 lastOffset: 5 .* crcValid: false$" "$weir" log dump "$d/$seg0.log"
expect dump_goes_on_after_a_bad_crc 0 "^baseOffset: 6 lastOffset: 8 .* crcValid: true$" "$weir" log dump "$d/$seg0.log"
if [ "$flipped" = "$(state "$d")" ]; then pass; else fail "dump/verify changed a damaged folder"; fi

d=$(copy truncated)
size=$(stat -c %s "$d/$seg2.log")
truncate -s $((size - 10)) "$d/$seg2.log"
expect verify_truncated_log 1 "^$seg2.log: byte [0-9]+, offset 42: torn batch: its length runs past the end of the file" "$weir" log verify "$d"
expect dump_truncated_log 0 "^damaged: position: [0-9]+: torn batch" "$weir" log dump "$d"

d=$(copy garbage)
printf 'garbage' >>"$d/$seg2.log"
expect verify_appended_garbage 1 "^$seg2.log: byte $size, offset 45: torn batch header at the end" "$weir" log verify "$d"

d=$(copy index)
poke "$d/$seg0.index" 0 'GARBAGE!'
expect verify_garbage_index 1 "^$seg0.index: byte 0, offset [0-9]+: entry 0: " "$weir" log verify "$d"
expect_no verify_garbage_index_blames_only_the_index "^$seg0.log" "$weir" log verify "$d"

d=$(copy index_position)
poke "$d/$seg0.index" 4 '\000\000\000\377' # entry 0 (offset 8, position 254) -> position 255
expect verify_index_off_a_batch_start 1 "^$seg0.index: byte 0, offset 8: entry 0 \(offset 8\): position 255 is not the start of a batch" "$weir" log verify "$d"

d=$(copy gap)
rm "$d/$seg1.log" "$d/$seg1.index" "$d/$seg1.timeindex"
expect verify_missing_middle_segment 1 "^$seg2.log: byte 0, offset 30: offsets 15..29 are missing.*no $seg1.log" "$weir" log verify "$d"

d=$(copy orphan)
rm "$d/$seg1.log"
expect verify_orphan_index 1 "^$seg1.index: offset 15: orphan index" "$weir" log verify "$d"

d=$(copy epochs)
printf '0\n2\n0 0\nx 24\n' >"$d/leader-epoch-checkpoint"
expect verify_bad_epoch_checkpoint 1 "^leader-epoch-checkpoint:4: expected '<epoch> <start offset>'" "$weir" log verify "$d"

d=$(copy epochs_disagree)
printf '0\n1\n0 0\n' >"$d/leader-epoch-checkpoint"
expect verify_epochs_disagree_with_batches 1 "^leader-epoch-checkpoint: offset 24: 7 batch\(es\) disagree" "$weir" log verify "$d"

d=$(copy snapshot)
poke "$d/00000000000000000045.snapshot" 20 'xx'
expect verify_damaged_snapshot 1 "^00000000000000000045.snapshot: offset 45: does not decode: CRC-32C mismatch" "$weir" log verify "$d"

d=$(copy hw)
printf '0\n1\norders 0 99\n' >"$d/replication-offset-checkpoint"
expect verify_hw_past_the_end 1 "^replication-offset-checkpoint: offset 99: high watermark 99 is past the log end 45" "$weir" log verify "$d"

d=$(copy leftovers)
touch "$d/leader-epoch-checkpoint.tmp"
expect verify_leftover_is_a_note 0 "^note: leader-epoch-checkpoint.tmp: leftover" "$weir" log verify "$d"
expect verify_leftover_verdict 0 "^ok: 3 segments, 15 batches, offsets 0..44 \(1 note\)$" "$weir" log verify "$d"

mkdir -p "$tmp/empty"
"$make_log" "$tmp/empty/orders-0" --batches 0 >/dev/null 2>&1
expect verify_empty_log 0 "^ok: 1 segment, 0 batches, no offsets \(log end 0\)$" "$weir" log verify "$tmp/empty/orders-0"

# ---- usage: one error line (then the usage lines), exit 2 ----
expect help_lists_log 0 "log dump PATH" "$weir" --help
expect log_help 0 "verify PATH   check the folder" "$weir" log --help
expect dump_help 0 "--records" "$weir" log dump --help
expect log_without_subcommand 2 "^weir log: missing subcommand" "$weir" log
expect log_unknown_subcommand 2 "^weir log: unknown subcommand 'bogus'" "$weir" log bogus
expect verify_without_path 2 "^weir log verify: missing PATH" "$weir" log verify
expect verify_two_paths 2 "^weir log verify: too many arguments" "$weir" log verify "$good" "$good"
expect dump_unknown_option 2 "^weir log dump: unknown option '--bogus'" "$weir" log dump "$good" --bogus
expect verify_rejects_dump_options 2 "^weir log verify: --records is an option of dump only" "$weir" log verify "$good" --records
# A missing PATH is exit 2 (nothing was checked), not 1 (checked and damaged).
expect verify_missing_path 2 "^weir log verify: cannot open '$tmp/nope-0': No such file or directory$" "$weir" log verify "$tmp/nope-0"
expect dump_missing_path 2 "^weir log dump: cannot open" "$weir" log dump "$tmp/nope-0"
expect verify_a_file 2 "^weir log verify: '.*' is a file; give its partition folder" "$weir" log verify "$good/$seg0.log"
expect verify_not_a_partition_folder 2 "is not a partition folder \(<topic>-<partition>\)" "$weir" log verify "$tmp/good"
expect dump_unknown_file_kind 2 "^weir log dump: cannot dump" "$weir" log dump "$good/replication-offset-checkpoint"
if [ "$before" = "$(state "$good")" ]; then pass; else fail "the healthy folder changed during the tests"; fi

echo "cli/log: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
