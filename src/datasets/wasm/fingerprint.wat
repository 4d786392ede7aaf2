;; Row fingerprints for duplicate detection, the per-byte work of validating a large dataset.
;; Compiled by scripts/build-wasm.ts into fingerprint-wasm.ts (checked by a test).
;;
;; Memory, managed by the caller (src/datasets/fingerprint.ts): [0, 8) the last hash, [64, 320) the fold
;; table, from 1024 the caller's bytes.
(module
  (memory (export "memory") 1)

  ;; ASCII fold: digits and lower-case letters stay, upper-case letters become lower-case, every other
  ;; byte is a separator (32). Bytes from 0x80 up are separators here; fold reports them instead.
  (data (i32.const 112) "0123456789")
  (data (i32.const 129) "abcdefghijklmnopqrstuvwxyz")
  (data (i32.const 161) "abcdefghijklmnopqrstuvwxyz")

  ;; The table starts as zeros; separators are 32, so zeros become 32 once at start-up.
  (func $init
    (local $i i32)
    (loop $next
      (if (i32.eqz (i32.load8_u offset=64 (local.get $i)))
        (then (i32.store8 offset=64 (local.get $i) (i32.const 32))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 256)))))
  (start $init)

  ;; Folds the ASCII bytes [src, end) to dst: case folded, each run of separators one space, none at
  ;; either end. Returns the end of what it wrote, or -1 when a byte is not ASCII (the caller then
  ;; normalises that text with Unicode rules). Branch-free per byte: a separator after a separator
  ;; is written but not kept (dst does not advance), so runs collapse without a mispredicted branch.
  (func (export "fold") (param $src i32) (param $end i32) (param $dst i32) (result i32)
    (local $start i32) (local $byte i32) (local $folded i32) (local $kept i32) (local $prev i32) (local $high i32)
    (local.set $start (local.get $dst))
    (if (i32.lt_u (local.get $src) (local.get $end))
      (then
        (loop $next
          (local.set $byte (i32.load8_u (local.get $src)))
          (local.set $high (i32.or (local.get $high) (local.get $byte)))
          (local.set $folded (i32.load8_u offset=64 (local.get $byte)))
          (i32.store8 (local.get $dst) (local.get $folded))
          (local.set $kept (i32.ne (local.get $folded) (i32.const 32)))
          (local.set $dst (i32.add (local.get $dst) (i32.or (local.get $kept) (local.get $prev))))
          (local.set $prev (local.get $kept))
          (local.set $src (i32.add (local.get $src) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $src) (local.get $end))))))
    (if (i32.and (local.get $high) (i32.const 0x80)) (then (return (i32.const -1))))
    ;; A trailing run left one space behind the last word.
    (if (i32.and (i32.eqz (local.get $prev)) (i32.gt_u (local.get $dst) (local.get $start)))
      (then (local.set $dst (i32.sub (local.get $dst) (i32.const 1)))))
    (local.get $dst))

  ;; A 64-bit hash of the bytes [start, end), stored at 0: eight bytes a round of multiply-rotate
  ;; (MurmurHash3's 64-bit body constants), the length mixed in, MurmurHash3's fmix64 at the end.
  ;; Collisions among n distinct rows are about n^2 / 2^65 likely; hashes never leave the process.
  (func (export "hash") (param $start i32) (param $end i32)
    (local $h i64) (local $k i64) (local $p i32) (local $words_end i32) (local $shift i64)
    (local.set $h (i64.const 0x9e3779b97f4a7c15))
    (local.set $p (local.get $start))
    (local.set $words_end (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $start)) (i32.const 7))))
    (if (i32.lt_u (local.get $p) (local.get $words_end))
      (then
        (loop $word
          (local.set $k (i64.mul (i64.rotl (i64.mul (i64.load (local.get $p)) (i64.const 0x87c37b91114253d5)) (i64.const 31)) (i64.const 0x4cf5ad432745937f)))
          (local.set $h (i64.add (i64.mul (i64.rotl (i64.xor (local.get $h) (local.get $k)) (i64.const 27)) (i64.const 5)) (i64.const 0x52dce729)))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $word (i32.lt_u (local.get $p) (local.get $words_end))))))
    ;; The last 0-7 bytes, little-endian, as one more round.
    (if (i32.lt_u (local.get $p) (local.get $end))
      (then
        (local.set $k (i64.const 0))
        (local.set $shift (i64.const 0))
        (loop $byte
          (local.set $k (i64.or (local.get $k) (i64.shl (i64.load8_u (local.get $p)) (local.get $shift))))
          (local.set $shift (i64.add (local.get $shift) (i64.const 8)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $p) (local.get $end))))
        (local.set $k (i64.mul (i64.rotl (i64.mul (local.get $k) (i64.const 0x87c37b91114253d5)) (i64.const 31)) (i64.const 0x4cf5ad432745937f)))
        (local.set $h (i64.xor (local.get $h) (local.get $k)))))
    (local.set $h (i64.xor (local.get $h) (i64.extend_i32_u (i32.sub (local.get $end) (local.get $start)))))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))) (i64.const 0xff51afd7ed558ccd)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.store (i32.const 0) (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))))
