//! BTF parsing and queries on small hand-built blobs.

use super::write::BtfBuilder;
use super::Btf;
use crate::debuginfo::ctype::{AggregateKind, CType};
use crate::debuginfo::error::DebugInfoError;

/// A miniature kernel: a few ints, typedefs, `task_struct`, `file`,
/// `vfs_read`, `printk` and the `sched_switch` tracepoint typedef.
fn mini_kernel() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let char_ = b.int("char", 1, true);
    let ulong = b.int("long unsigned int", 8, false);
    let long = b.int("long int", 8, true);
    let uint = b.int("unsigned int", 4, false);
    let bool_ = b.int("_Bool", 1, false);
    let kpid = b.typedef("__kernel_pid_t", int);
    let pid_t = b.typedef("pid_t", kpid);
    let size_t = b.typedef("size_t", ulong);
    let loff_t = b.typedef("loff_t", long);
    let comm = b.array(char_, int, 16);
    let fwd_task = b.fwd("task_struct", false);
    let task_ptr = b.ptr(fwd_task);
    let anon_union = b.aggregate("", true, 8, &[("a", int, 0, 0), ("b", long, 0, 0)]);
    let task = b.aggregate(
        "task_struct",
        false,
        64,
        &[
            ("pid", pid_t, 0, 0),
            ("in_execve", uint, 32, 1),
            ("in_iowait", uint, 33, 1),
            ("comm", comm, 64, 0),
            ("real_parent", task_ptr, 192, 0),
            ("", anon_union, 256, 0),
        ],
    );
    let _ = task;
    let file_fwd = b.fwd("file", false);
    let file_ptr = b.ptr(file_fwd);
    b.aggregate(
        "file",
        false,
        16,
        &[("f_flags", uint, 0, 0), ("f_owner", task_ptr, 64, 0)],
    );
    let char_ptr = b.ptr(char_);
    let loff_ptr = b.ptr(loff_t);
    let vfs_read = b.func_proto(
        long,
        &[
            ("file", file_ptr),
            ("buf", char_ptr),
            ("count", size_t),
            ("pos", loff_ptr),
        ],
    );
    b.func("vfs_read", vfs_read);
    let cchar = b.const_(char_);
    let cchar_ptr = b.ptr(cchar);
    let printk = b.func_proto(int, &[("fmt", cchar_ptr), ("", 0)]);
    b.func("_printk", printk);
    let void_ptr = b.ptr(0);
    let tp = b.func_proto(
        0,
        &[
            ("", void_ptr),
            ("", bool_),
            ("", task_ptr),
            ("", task_ptr),
            ("", uint),
        ],
    );
    let tp_ptr = b.ptr(tp);
    b.typedef("btf_trace_sched_switch", tp_ptr);
    // The same prototype with names, as the kernel's BPF glue has it; an
    // event of that class without its own function, and an unrelated class.
    let named = b.func_proto(
        0,
        &[
            ("__data", void_ptr),
            ("preempt", bool_),
            ("prev", task_ptr),
            ("next", task_ptr),
            ("prev_state", uint),
        ],
    );
    b.func("__bpf_trace_sched_switch", named);
    b.typedef("btf_trace_sched_switch_again", tp_ptr);
    b.typedef("btf_trace_unrelated_event", tp_ptr);
    let counter = b.aggregate("", false, 4, &[("counter", int, 0, 0)]);
    b.typedef("atomic_t", counter);
    b.enum32("pid_type", &[("PIDTYPE_PID", 0), ("PIDTYPE_MAX", 4)]);
    b.build()
}

#[test]
fn parses_functions_with_parameter_names() {
    let btf = Btf::parse(&mini_kernel()).unwrap();
    assert_eq!(
        btf.function_names(),
        ["__bpf_trace_sched_switch", "_printk", "vfs_read"]
    );
    assert!(btf.has_function("vfs_read"));
    assert!(!btf.has_function("do_fsync"));
    let p = btf.prototype("vfs_read").unwrap();
    assert_eq!(
        p.render(),
        "long int vfs_read(struct file* file, char* buf, size_t count, loff_t* pos)"
    );
    let params = p.params.unwrap();
    assert_eq!(params[2].ty.size(), Some(8));
    assert!(!params[2].ty.is_signed());
    assert_eq!(
        params[0].ty.aggregate_name().as_deref(),
        Some("struct file")
    );
    let printk = btf.prototype("_printk").unwrap();
    assert!(printk.variadic);
    assert_eq!(printk.render(), "int _printk(const char* fmt, ...)");
}

#[test]
fn tracepoint_typedefs_give_types_without_names() {
    let btf = Btf::parse(&mini_kernel()).unwrap();
    assert_eq!(
        btf.tracepoint_names(),
        ["sched_switch", "sched_switch_again", "unrelated_event"]
    );
    let params = btf.tracepoint_params("sched_switch").unwrap();
    let rendered: Vec<String> = params
        .iter()
        .map(|p| format!("{} {}", p.ty, p.name))
        .collect();
    assert_eq!(
        rendered,
        [
            "_Bool arg2",
            "struct task_struct* arg3",
            "struct task_struct* arg4",
            "unsigned int arg5"
        ]
    );
    assert!(btf.tracepoint_params("sched_wakeup").is_none());
    let names = ["preempt", "prev", "next", "prev_state"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        btf.tracepoint_param_names("sched_switch"),
        Some(names.clone())
    );
    assert_eq!(
        btf.tracepoint_param_names("sched_switch_again"),
        Some(names)
    );
    assert_eq!(btf.tracepoint_param_names("unrelated_event"), None);
}

#[test]
fn layouts_and_member_chains() {
    let btf = Btf::parse(&mini_kernel()).unwrap();
    let layout = btf.layout("struct task_struct").unwrap();
    assert_eq!(layout.size, 64);
    assert_eq!(layout.kind, AggregateKind::Struct);
    let names: Vec<&str> = layout.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["pid", "in_execve", "in_iowait", "comm", "real_parent", ""]
    );
    assert_eq!(layout.members[2].bitfield_size, Some(1));

    let path = btf
        .member_path("struct task_struct", &["real_parent", "pid"])
        .unwrap();
    assert_eq!(path.steps.len(), 2);
    assert_eq!((path.steps[0].deref, path.steps[0].offset), (false, 24));
    assert_eq!((path.steps[1].deref, path.steps[1].offset), (true, 0));
    assert_eq!(path.ty().render(), "pid_t");
    assert!(path.ty().is_signed());

    // Through an anonymous union, and a bitfield.
    let b = btf.member_path("task_struct", &["b"]).unwrap();
    assert_eq!(b.steps[0].offset, 32);
    let iow = btf
        .member_path("struct task_struct", &["in_iowait"])
        .unwrap();
    assert_eq!(
        (iow.steps[0].offset, iow.steps[0].bitfield),
        (4, Some((1, 1)))
    );

    // Typedef of an anonymous struct; forward declarations complete.
    let c = btf.member_path("atomic_t", &["counter"]).unwrap();
    assert_eq!(c.steps[0].ty.render(), "int");
    let owner = btf
        .member_path("struct file", &["f_owner", "comm"])
        .unwrap();
    assert_eq!(owner.ty().render(), "char[16]");
    assert_eq!(owner.steps[1].offset, 8);
    match &owner.steps[0].ty {
        CType::Pointer(t) => assert_eq!(t.size(), Some(64)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn member_errors_name_the_type_and_suggest() {
    let btf = Btf::parse(&mini_kernel()).unwrap();
    let e = btf.member_path("struct task_struct", &["pdi"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "struct task_struct has no member 'pdi'; did you mean pid?"
    );
    let e = btf
        .member_path("struct task_struct", &["pid", "x"])
        .unwrap_err();
    assert!(matches!(e, DebugInfoError::NotAnAggregate { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "'struct task_struct->pid' has type pid_t, which is not a struct, union or pointer to one"
    );
    let e = btf.layout("struct nope").unwrap_err();
    assert_eq!(
        e.to_string(),
        "no struct, union or typedef 'struct nope' in this kernel's BTF"
    );
}

#[test]
fn rejects_bad_blobs() {
    assert!(Btf::parse(b"").is_err());
    assert!(Btf::parse(&[0x9f, 0xeb, 2, 0])
        .unwrap_err()
        .0
        .contains("version"));
    let mut blob = mini_kernel();
    blob.truncate(blob.len() - 30);
    assert!(Btf::parse(&blob).is_err());
    let mut b = BtfBuilder::new();
    b.int("int", 4, true);
    b.unknown_kind(25);
    let e = Btf::parse(&b.build()).unwrap_err();
    assert!(e.0.contains("unknown BTF kind 25"), "{e}");
}

#[test]
fn big_endian_blobs_parse_too() {
    // Swap every 32-bit word of the header and type section, and the magic.
    let le = {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, true);
        let p = b.func_proto(int, &[("x", int)]);
        b.func("f", p);
        b.build()
    };
    let type_len = u32::from_le_bytes(le[12..16].try_into().unwrap()) as usize;
    let mut be = le.clone();
    be[0..2].copy_from_slice(&0xEB9Fu16.to_be_bytes());
    for at in (4..24 + type_len).step_by(4) {
        let w = u32::from_le_bytes(le[at..at + 4].try_into().unwrap());
        be[at..at + 4].copy_from_slice(&w.to_be_bytes());
    }
    let btf = Btf::parse(&be).unwrap();
    assert_eq!(btf.prototype("f").unwrap().render(), "int f(int x)");
}

/// Every query a script can make, on whatever `btf` holds: none may panic.
fn ask_everything(btf: &Btf) {
    for name in btf.function_names() {
        let _ = btf.prototype(name);
    }
    for event in btf.tracepoint_names() {
        let _ = btf.tracepoint_params(event);
        let _ = btf.tracepoint_param_names(event);
    }
    for name in ["struct task_struct", "struct file", "atomic_t", "pid_t"] {
        let _ = btf.layout(name);
        let _ = btf.named_type_ctype(name);
        let _ = btf.member_path(name, &["real_parent", "comm"]);
        let _ = btf.member_path(name, &["f_owner", "pid"]);
    }
    for id in 0..=btf.type_count() as u32 + 2 {
        let _ = btf.ctype(id);
    }
}

#[test]
fn truncated_sections_are_errors_naming_an_offset() {
    let blob = mini_kernel();
    let type_end = 24 + u32::from_le_bytes(blob[12..16].try_into().unwrap()) as usize;
    for len in 0..blob.len() {
        // A cut inside the header or type section moves the string
        // section outside the blob; keep the header's lengths consistent
        // with the cut too, so the record decoder meets the cut.
        for fix_header in [false, true] {
            let mut cut = blob[..len].to_vec();
            if fix_header && len >= 24 && len < type_end {
                let type_len = (len - 24) as u32;
                cut[12..16].copy_from_slice(&type_len.to_le_bytes());
                cut[16..20].copy_from_slice(&type_len.to_le_bytes());
                cut[20..24].copy_from_slice(&0u32.to_le_bytes());
            }
            match Btf::parse(&cut) {
                Ok(btf) => ask_everything(&btf),
                Err(e) if len >= 24 && fix_header && len < type_end => {
                    assert!(e.0.contains("byte"), "cut at {len}: {e}")
                }
                Err(_) => {}
            }
        }
    }
}

#[test]
fn out_of_range_type_ids_are_refused_with_the_record_offset() {
    for bad in [
        |b: &mut BtfBuilder| {
            b.ptr(999);
        },
        |b: &mut BtfBuilder| {
            b.typedef("t", 999);
        },
        |b: &mut BtfBuilder| {
            b.array(999, 1, 4);
        },
        |b: &mut BtfBuilder| {
            b.aggregate("s", false, 8, &[("m", 999, 0, 0)]);
        },
        |b: &mut BtfBuilder| {
            b.func_proto(999, &[]);
        },
        |b: &mut BtfBuilder| {
            b.func_proto(1, &[("x", 999)]);
        },
        |b: &mut BtfBuilder| {
            b.func("f", 999);
        },
    ] {
        let mut b = BtfBuilder::new();
        b.int("int", 4, true);
        bad(&mut b);
        let e = Btf::parse(&b.build()).unwrap_err();
        assert!(
            e.0.starts_with("type 2 (the record at byte 40)")
                && e.0.ends_with("type 999, but the section has only 2 types"),
            "{e}"
        );
    }
}

#[test]
fn garbage_after_a_valid_header_never_panics() {
    // A fixed pseudo-random stream (xorshift), so failures reproduce.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let good = mini_kernel();
    for round in 0..2000 {
        let mut blob = good.clone();
        // Flip a few bytes of the type section, or fill it with noise.
        let type_end = 24 + u32::from_le_bytes(blob[12..16].try_into().unwrap()) as usize;
        let flips = if round % 10 == 0 { type_end - 24 } else { 3 };
        for _ in 0..flips {
            let at = 24 + (next() as usize) % (type_end - 24);
            blob[at] = next() as u8;
        }
        if let Ok(btf) = Btf::parse(&blob) {
            ask_everything(&btf);
        }
    }
}

#[test]
fn an_aggregate_that_is_its_own_anonymous_member_ends() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    // Type 2 names itself as its anonymous member: a malformed section.
    let s = b.aggregate("loop", false, 8, &[("", 2, 0, 0), ("x", int, 32, 0)]);
    assert_eq!(s, 2);
    let btf = Btf::parse(&b.build()).unwrap();
    assert_eq!(
        btf.member_path("struct loop", &["x"]).unwrap().steps[0].offset,
        4
    );
    let e = btf.member_path("struct loop", &["y"]).unwrap_err();
    assert!(
        e.to_string().starts_with("struct loop has no member 'y'"),
        "{e}"
    );
}

#[test]
fn a_prototype_that_takes_itself_is_walked_in_bounded_time() {
    // Type 1 returns and takes two values of its own type: a damaged
    // section. Each node has three children 64 levels deep, so the walk
    // was 3^64 nodes long before it had a budget.
    let mut b = BtfBuilder::new();
    let id = b.next_id();
    let proto = b.func_proto(id, &[("a", id), ("b", id)]);
    assert_eq!(proto, id);
    b.func("f", proto);
    let btf = Btf::parse(&b.build()).unwrap();
    let start = std::time::Instant::now();
    let p = btf.prototype("f").unwrap();
    assert_eq!(p.params.map(|p| p.len()), Some(2));
    assert!(matches!(btf.ctype(proto), CType::Function { .. }));
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

/// A module's split `.BTF` (ids and string offsets going on from the
/// kernel's): its own structs and functions resolve, and its members of
/// the kernel's types read through to the base.
#[test]
fn split_module_btf_extends_the_kernel_types() {
    let mut base = BtfBuilder::new();
    let int = base.int("int", 4, true);
    let uint = base.int("unsigned int", 4, false);
    let dev = base.typedef("dev_t", uint);
    base.aggregate("super_block", false, 8, &[("s_dev", dev, 0, 0)]);
    let kernel = Btf::parse(&base.build()).unwrap();

    let mut module = BtfBuilder::split(&base);
    let sb_fwd = module.fwd("super_block", false);
    let sb_ptr = module.ptr(sb_fwd);
    let sdev = module.aggregate(
        "scsi_device",
        false,
        16,
        &[("sector_size", uint, 0, 0), ("host_no", int, 32, 0)],
    );
    let sdev_ptr = module.ptr(sdev);
    let proto = module.func_proto(int, &[("sb", sb_ptr), ("sdp", sdev_ptr)]);
    module.func("ext4_should_retry_alloc", proto);
    let blob = module.build();

    let split = Btf::parse_split(&blob, &kernel).unwrap();
    assert_eq!(split.type_count(), kernel.type_count() + 6);
    let layout = split.layout("struct scsi_device").unwrap();
    assert_eq!(layout.size, 16);
    assert_eq!(
        split
            .member_path("struct scsi_device", &["host_no"])
            .unwrap()
            .ty()
            .render(),
        "int"
    );
    let p = split.prototype("ext4_should_retry_alloc").unwrap();
    assert_eq!(
        p.render(),
        "int ext4_should_retry_alloc(struct super_block* sb, struct scsi_device* sdp)"
    );
    // The kernel's own types are still there, and the kernel alone does
    // not know the module's.
    assert!(split.layout("struct super_block").is_ok());
    assert!(kernel.layout("struct scsi_device").is_err());
    assert!(!kernel.has_function("ext4_should_retry_alloc"));
    // A split blob whose ids point past its own records is refused.
    let mut bad = BtfBuilder::split(&base);
    bad.ptr(99);
    assert!(Btf::parse_split(&bad.build(), &kernel).is_err());
}
