//! The commands: each takes its arguments and writes exactly one reply. Error replies are
//! Redis's own words, byte for byte, so clients that match on them (and people who know
//! them) are not surprised.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use spindle::time::Instant;

use super::db::{Data, Db, Hash};
use super::frame::{
    parse_int, write_array_len, write_bulk, write_error, write_int, write_null, write_simple,
};

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    Continue,
    /// QUIT: send the reply, then close.
    Close,
}

/// A command's failure, written as one error reply.
#[derive(Debug)]
enum Fail {
    WrongType,
    NotInteger,
    Syntax,
    /// Redis says 'wrong number of arguments' for some checks made after the arity table.
    Arity,
    Other(String),
}

impl Fail {
    fn write(self, name: &str, out: &mut Vec<u8>) {
        let text = match self {
            Fail::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".to_owned()
            }
            Fail::NotInteger => "ERR value is not an integer or out of range".to_owned(),
            Fail::Syntax => "ERR syntax error".to_owned(),
            Fail::Arity => format!("ERR wrong number of arguments for '{name}' command"),
            Fail::Other(text) => text,
        };
        write_error(out, &text);
    }
}

type Outcome = Result<After, Fail>;

/// What a command runs against.
struct Ctx<'a> {
    db: &'a mut Db,
    now: Instant,
    out: &'a mut Vec<u8>,
}

type Handler = fn(&mut Ctx<'_>, &[Vec<u8>]) -> Outcome;

/// Runs one command (`args[0]` is its name, any case) and writes its reply to `out`.
pub fn execute(db: &mut Db, now: Instant, args: &[Vec<u8>], out: &mut Vec<u8>) -> After {
    let Some((name, _)) = args.split_first() else {
        return After::Continue;
    };
    let Some((canonical, arity, handler)) = lookup(name) else {
        unknown_command(args, out);
        return After::Continue;
    };
    let argc = args.len() as i32;
    let arity_ok = if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    };
    let mut ctx = Ctx { db, now, out };
    let outcome = if arity_ok {
        handler(&mut ctx, args)
    } else {
        Err(Fail::Arity)
    };
    outcome.unwrap_or_else(|fail| {
        fail.write(canonical, ctx.out);
        After::Continue
    })
}

/// The command table: canonical name, arity (Redis's convention: `n` exactly, `-n` at least
/// `n`, the name included), handler.
fn lookup(name: &[u8]) -> Option<(&'static str, i32, Handler)> {
    let mut upper = [0u8; 16];
    if name.len() > upper.len() {
        return None;
    }
    let upper = &mut upper[..name.len()];
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    let (canonical, arity, handler): (&str, i32, Handler) = match &*upper {
        b"PING" => ("ping", -1, ping),
        b"ECHO" => ("echo", 2, echo),
        b"GET" => ("get", 2, get),
        b"SET" => ("set", -3, set),
        b"DEL" => ("del", -2, del),
        b"EXISTS" => ("exists", -2, exists),
        b"INCR" => ("incr", 2, |c, a| incr_by(c, &a[1], 1)),
        b"DECR" => ("decr", 2, |c, a| incr_by(c, &a[1], -1)),
        b"INCRBY" => ("incrby", 3, |c, a| incr_by(c, &a[1], int_arg(&a[2])?)),
        b"DECRBY" => ("decrby", 3, |c, a| {
            let by = int_arg(&a[2])?;
            incr_by(c, &a[1], by.checked_neg().ok_or(Fail::NotInteger)?)
        }),
        b"MGET" => ("mget", -2, mget),
        b"MSET" => ("mset", -3, mset),
        b"HSET" => ("hset", -4, hset),
        b"HGET" => ("hget", 3, hget),
        b"HGETALL" => ("hgetall", 2, hgetall),
        b"HDEL" => ("hdel", -3, hdel),
        b"HLEN" => ("hlen", 2, hlen),
        b"LPUSH" => ("lpush", -3, |c, a| push(c, a, true)),
        b"RPUSH" => ("rpush", -3, |c, a| push(c, a, false)),
        b"LPOP" => ("lpop", -2, |c, a| pop(c, a, true)),
        b"RPOP" => ("rpop", -2, |c, a| pop(c, a, false)),
        b"LRANGE" => ("lrange", 4, lrange),
        b"LLEN" => ("llen", 2, llen),
        b"EXPIRE" => ("expire", -3, |c, a| expire(c, a, 1000)),
        b"PEXPIRE" => ("pexpire", -3, |c, a| expire(c, a, 1)),
        b"TTL" => ("ttl", 2, |c, a| ttl(c, a, 1000)),
        b"PTTL" => ("pttl", 2, |c, a| ttl(c, a, 1)),
        b"PERSIST" => ("persist", 2, persist),
        b"TYPE" => ("type", 2, type_of),
        b"FLUSHDB" => ("flushdb", -1, flush),
        b"FLUSHALL" => ("flushall", -1, flush),
        b"DBSIZE" => ("dbsize", 1, |c, _| {
            write_int(c.out, c.db.len() as i64);
            Ok(After::Continue)
        }),
        b"SELECT" => ("select", 2, select),
        b"CONFIG" => ("config", -2, config),
        b"COMMAND" => ("command", -1, |c, _| {
            // redis-cli asks for COMMAND DOCS to show hints; it copes with none.
            write_array_len(c.out, 0);
            Ok(After::Continue)
        }),
        b"CLIENT" => ("client", -2, client),
        b"INFO" => ("info", -1, info),
        b"QUIT" => ("quit", -1, |c, _| {
            write_simple(c.out, "OK");
            Ok(After::Close)
        }),
        _ => return None,
    };
    Some((canonical, arity, handler))
}

/// Redis's reply to a command it does not know: the name as sent, then the first arguments
/// quoted, 128 characters of them at most.
fn unknown_command(args: &[Vec<u8>], out: &mut Vec<u8>) {
    let name = String::from_utf8_lossy(&args[0]);
    let mut listed = String::new();
    for arg in &args[1..] {
        if listed.len() >= 128 {
            break;
        }
        let arg = String::from_utf8_lossy(arg);
        let room = 128 - listed.len();
        let arg: String = arg.chars().take(room).collect();
        listed.push_str(&format!("'{arg}' "));
    }
    let name: String = name.chars().take(128).collect();
    write_error(
        out,
        &format!("ERR unknown command '{name}', with args beginning with: {listed}"),
    );
}

fn ok(ctx: &mut Ctx<'_>) -> Outcome {
    write_simple(ctx.out, "OK");
    Ok(After::Continue)
}

fn int_arg(arg: &[u8]) -> Result<i64, Fail> {
    parse_int(arg).ok_or(Fail::NotInteger)
}

fn eq_ignore_case(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The string at `key`: `None` if missing, `WRONGTYPE` if it holds something else.
fn string_at<'d>(ctx: &'d mut Ctx<'_>, key: &[u8]) -> Result<Option<&'d Vec<u8>>, Fail> {
    match ctx.db.get(key, ctx.now) {
        None => Ok(None),
        Some(Data::Str(value)) => Ok(Some(value)),
        Some(_) => Err(Fail::WrongType),
    }
}

fn ping(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    match args {
        [_] => write_simple(ctx.out, "PONG"),
        [_, message] => write_bulk(ctx.out, message),
        _ => return Err(Fail::Arity),
    }
    Ok(After::Continue)
}

fn echo(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    write_bulk(ctx.out, &args[1]);
    Ok(After::Continue)
}

fn get(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    match ctx.db.get(&args[1], ctx.now) {
        None => write_null(ctx.out),
        Some(Data::Str(value)) => write_bulk(ctx.out, value),
        Some(_) => return Err(Fail::WrongType),
    }
    Ok(After::Continue)
}

/// How SET's expiry option was given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    None,
    KeepTtl,
    /// EX, PX: from now.
    In,
    /// EXAT, PXAT: a Unix time.
    At,
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let (key, value) = (&args[1], &args[2]);
    let (mut nx, mut xx, mut get_old) = (false, false, false);
    let mut expiry = Expiry::None;
    let mut expiry_arg: Option<(&[u8], i64)> = None;
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        let next = args.get(i + 1);
        let unit = if eq_ignore_case(opt, "EX") || eq_ignore_case(opt, "EXAT") {
            Some(1000)
        } else if eq_ignore_case(opt, "PX") || eq_ignore_case(opt, "PXAT") {
            Some(1)
        } else {
            None
        };
        if eq_ignore_case(opt, "NX") && !xx {
            nx = true;
        } else if eq_ignore_case(opt, "XX") && !nx {
            xx = true;
        } else if eq_ignore_case(opt, "GET") {
            get_old = true;
        } else if eq_ignore_case(opt, "KEEPTTL") && expiry == Expiry::None {
            expiry = Expiry::KeepTtl;
        } else if let (Some(unit), Some(amount), Expiry::None) = (unit, next, expiry) {
            expiry = if opt.len() == 2 {
                Expiry::In
            } else {
                Expiry::At
            };
            expiry_arg = Some((amount, unit));
            i += 1;
        } else {
            return Err(Fail::Syntax);
        }
        i += 1;
    }
    let deadline = match (expiry, expiry_arg) {
        (Expiry::In | Expiry::At, Some((amount, unit))) => {
            let ms = expiry_millis(amount, unit, "set")?;
            let from_now = if expiry == Expiry::At {
                ms - unix_millis()
            } else {
                ms
            };
            Some(deadline_after(ctx.now, from_now).ok_or_else(|| invalid_expire("set"))?)
        }
        (Expiry::KeepTtl, _) => ctx.db.deadline(key, ctx.now).flatten(),
        _ => None,
    };
    let old = if get_old {
        Some(string_at(ctx, key)?.cloned())
    } else {
        None
    };
    let exists = ctx.db.contains(key, ctx.now);
    if (nx && exists) || (xx && !exists) {
        match old {
            Some(Some(value)) => write_bulk(ctx.out, &value),
            _ => write_null(ctx.out),
        }
        return Ok(After::Continue);
    }
    ctx.db.insert(key, Data::Str(value.clone()), deadline);
    match old {
        None => write_simple(ctx.out, "OK"),
        Some(Some(value)) => write_bulk(ctx.out, &value),
        Some(None) => write_null(ctx.out),
    }
    Ok(After::Continue)
}

fn invalid_expire(command: &str) -> Fail {
    Fail::Other(format!("ERR invalid expire time in '{command}' command"))
}

/// An expiry argument in milliseconds: a positive integer times `unit`.
fn expiry_millis(arg: &[u8], unit: i64, command: &str) -> Result<i64, Fail> {
    let amount = int_arg(arg)?;
    if amount <= 0 {
        return Err(invalid_expire(command));
    }
    amount
        .checked_mul(unit)
        .ok_or_else(|| invalid_expire(command))
}

/// Milliseconds since the Unix epoch, for EXAT and PXAT.
fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `now` plus `ms` (a time already past is `now`: due at once); `None` if unrepresentable.
fn deadline_after(now: Instant, ms: i64) -> Option<Instant> {
    if ms <= 0 {
        return Some(now);
    }
    now.checked_add(Duration::from_millis(ms as u64))
}

fn del(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let removed = args[1..]
        .iter()
        .filter(|key| ctx.db.remove(key, ctx.now))
        .count();
    write_int(ctx.out, removed as i64);
    Ok(After::Continue)
}

fn exists(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let found = args[1..]
        .iter()
        .filter(|key| ctx.db.contains(key, ctx.now))
        .count();
    write_int(ctx.out, found as i64);
    Ok(After::Continue)
}

/// INCR, DECR, INCRBY, DECRBY: the key keeps its TTL, as in Redis.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> Outcome {
    let now = ctx.now;
    let current = match string_at(ctx, key)? {
        None => 0,
        Some(value) => parse_int(value).ok_or(Fail::NotInteger)?,
    };
    let next = current
        .checked_add(by)
        .ok_or_else(|| Fail::Other("ERR increment or decrement would overflow".into()))?;
    let text = next.to_string().into_bytes();
    match ctx.db.get_mut(key, now) {
        Some(Data::Str(value)) => *value = text,
        _ => ctx.db.insert(key, Data::Str(text), None),
    }
    write_int(ctx.out, next);
    Ok(After::Continue)
}

fn mget(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    write_array_len(ctx.out, args.len() - 1);
    for key in &args[1..] {
        match ctx.db.get(key, ctx.now) {
            Some(Data::Str(value)) => write_bulk(ctx.out, value),
            // MGET answers nil for anything that is not a string, never WRONGTYPE.
            _ => write_null(ctx.out),
        }
    }
    Ok(After::Continue)
}

fn mset(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    if args.len() % 2 == 0 {
        return Err(Fail::Arity);
    }
    for pair in args[1..].chunks_exact(2) {
        ctx.db.insert(&pair[0], Data::Str(pair[1].clone()), None);
    }
    ok(ctx)
}

/// The hash at `key`, created empty if missing (and `create`).
fn hash_at<'d>(
    ctx: &'d mut Ctx<'_>,
    key: &[u8],
    create: bool,
) -> Result<Option<&'d mut Hash>, Fail> {
    if create && !ctx.db.contains(key, ctx.now) {
        ctx.db.insert(key, Data::Hash(Hash::new()), None);
    }
    match ctx.db.get_mut(key, ctx.now) {
        None => Ok(None),
        Some(Data::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(Fail::WrongType),
    }
}

fn hset(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    if args.len() % 2 != 0 {
        return Err(Fail::Arity);
    }
    let hash = hash_at(ctx, &args[1], true)?.expect("created above");
    let added = args[2..]
        .chunks_exact(2)
        .filter(|pair| hash.insert(pair[0].clone(), pair[1].clone()).is_none())
        .count();
    write_int(ctx.out, added as i64);
    Ok(After::Continue)
}

fn hget(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let value = hash_at(ctx, &args[1], false)?.and_then(|hash| hash.get(&args[2]).cloned());
    match value {
        Some(value) => write_bulk(ctx.out, &value),
        None => write_null(ctx.out),
    }
    Ok(After::Continue)
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let mut body = Vec::new();
    let mut len = 0;
    if let Some(hash) = hash_at(ctx, &args[1], false)? {
        for (field, value) in hash.iter() {
            write_bulk(&mut body, field);
            write_bulk(&mut body, value);
        }
        len = hash.len() * 2;
    }
    write_array_len(ctx.out, len);
    ctx.out.extend_from_slice(&body);
    Ok(After::Continue)
}

fn hdel(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let key = &args[1];
    let (removed, now_empty) = match hash_at(ctx, key, false)? {
        None => (0, false),
        Some(hash) => {
            let removed = args[2..]
                .iter()
                .filter(|field| hash.remove(*field).is_some())
                .count();
            (removed, hash.is_empty())
        }
    };
    if now_empty {
        ctx.db.remove(key, ctx.now);
    }
    write_int(ctx.out, removed as i64);
    Ok(After::Continue)
}

fn hlen(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let len = hash_at(ctx, &args[1], false)?.map_or(0, |hash| hash.len());
    write_int(ctx.out, len as i64);
    Ok(After::Continue)
}

/// The list at `key`, created empty if missing (and `create`).
fn list_at<'d>(
    ctx: &'d mut Ctx<'_>,
    key: &[u8],
    create: bool,
) -> Result<Option<&'d mut VecDeque<Vec<u8>>>, Fail> {
    if create && !ctx.db.contains(key, ctx.now) {
        ctx.db.insert(key, Data::List(VecDeque::new()), None);
    }
    match ctx.db.get_mut(key, ctx.now) {
        None => Ok(None),
        Some(Data::List(list)) => Ok(Some(list)),
        Some(_) => Err(Fail::WrongType),
    }
}

/// LPUSH / RPUSH key element [element ...]: the list's new length.
fn push(ctx: &mut Ctx<'_>, args: &[Vec<u8>], front: bool) -> Outcome {
    // Check the type before creating anything, so a WRONGTYPE leaves no trace.
    list_at(ctx, &args[1], false)?;
    let list = list_at(ctx, &args[1], true)?.expect("created above");
    for element in &args[2..] {
        if front {
            list.push_front(element.clone());
        } else {
            list.push_back(element.clone());
        }
    }
    let len = list.len();
    write_int(ctx.out, len as i64);
    Ok(After::Continue)
}

/// LPOP / RPOP key [count]
fn pop(ctx: &mut Ctx<'_>, args: &[Vec<u8>], front: bool) -> Outcome {
    let count = match args {
        [_, _] => None,
        [_, _, count] => match parse_int(count) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => {
                return Err(Fail::Other(
                    "ERR value is out of range, must be positive".into(),
                ));
            }
        },
        _ => return Err(Fail::Arity),
    };
    let key = &args[1];
    let Some(list) = list_at(ctx, key, false)? else {
        if count.is_some() {
            ctx.out.extend_from_slice(b"*-1\r\n");
        } else {
            write_null(ctx.out);
        }
        return Ok(After::Continue);
    };
    let mut take = || {
        if front {
            list.pop_front()
        } else {
            list.pop_back()
        }
    };
    let popped: Vec<Vec<u8>> = match count {
        None => take().into_iter().collect(),
        Some(n) => std::iter::from_fn(take).take(n).collect(),
    };
    if list.is_empty() {
        ctx.db.remove(key, ctx.now);
    }
    match count {
        None => write_bulk(ctx.out, &popped[0]),
        Some(_) => {
            write_array_len(ctx.out, popped.len());
            for element in &popped {
                write_bulk(ctx.out, element);
            }
        }
    }
    Ok(After::Continue)
}

/// LRANGE key start stop, with Redis's negative indexes and clamping.
fn lrange(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let mut body = Vec::new();
    let mut len = 0;
    if let Some(list) = list_at(ctx, &args[1], false)? {
        let n = list.len() as i64;
        let start = if start < 0 { (n + start).max(0) } else { start };
        let stop = if stop < 0 { n + stop } else { stop.min(n - 1) };
        if start <= stop {
            for element in list.range(start as usize..=stop as usize) {
                write_bulk(&mut body, element);
                len += 1;
            }
        }
    }
    write_array_len(ctx.out, len);
    ctx.out.extend_from_slice(&body);
    Ok(After::Continue)
}

fn llen(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let len = list_at(ctx, &args[1], false)?.map_or(0, |list| list.len());
    write_int(ctx.out, len as i64);
    Ok(After::Continue)
}

/// EXPIRE / PEXPIRE key amount [NX | XX | GT | LT]: 1 if the deadline was set (or the key
/// deleted, for a time already past), 0 if the key is missing or a condition said no.
fn expire(ctx: &mut Ctx<'_>, args: &[Vec<u8>], unit: i64) -> Outcome {
    let command = if unit == 1 { "pexpire" } else { "expire" };
    let (key, amount) = (&args[1], int_arg(&args[2])?);
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        let flag = if eq_ignore_case(opt, "NX") {
            &mut nx
        } else if eq_ignore_case(opt, "XX") {
            &mut xx
        } else if eq_ignore_case(opt, "GT") {
            &mut gt
        } else if eq_ignore_case(opt, "LT") {
            &mut lt
        } else {
            return Err(Fail::Other(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        };
        *flag = true;
    }
    if nx && (xx || gt || lt) {
        return Err(Fail::Other(
            "ERR NX and XX, GT or LT options at the same time are not compatible".into(),
        ));
    }
    if gt && lt {
        return Err(Fail::Other(
            "ERR GT and LT options at the same time are not compatible".into(),
        ));
    }
    let ms = amount
        .checked_mul(unit)
        .ok_or_else(|| invalid_expire(command))?;
    let deadline = deadline_after(ctx.now, ms).ok_or_else(|| invalid_expire(command))?;
    let Some(current) = ctx.db.deadline(key, ctx.now) else {
        write_int(ctx.out, 0);
        return Ok(After::Continue);
    };
    // No deadline counts as infinitely far for GT and LT.
    let allowed = match current {
        None => !xx && !gt,
        Some(at) => !nx && (!gt || deadline > at) && (!lt || deadline < at),
    };
    if allowed {
        if ms <= 0 {
            ctx.db.remove(key, ctx.now);
        } else {
            ctx.db.set_deadline(key, Some(deadline));
        }
    }
    write_int(ctx.out, allowed as i64);
    Ok(After::Continue)
}

/// TTL / PTTL: -2 for a missing key, -1 for one that never expires.
fn ttl(ctx: &mut Ctx<'_>, args: &[Vec<u8>], unit: u128) -> Outcome {
    let reply = match ctx.db.deadline(&args[1], ctx.now) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let ms = at.saturating_duration_since(ctx.now).as_millis();
            // Redis rounds TTL to the nearest second.
            ((ms + unit / 2) / unit) as i64
        }
    };
    write_int(ctx.out, reply);
    Ok(After::Continue)
}

fn persist(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let had = matches!(ctx.db.deadline(&args[1], ctx.now), Some(Some(_)));
    if had {
        ctx.db.set_deadline(&args[1], None);
    }
    write_int(ctx.out, had as i64);
    Ok(After::Continue)
}

fn type_of(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let name = match ctx.db.get(&args[1], ctx.now) {
        None => "none",
        Some(Data::Str(_)) => "string",
        Some(Data::Hash(_)) => "hash",
        Some(Data::List(_)) => "list",
    };
    write_simple(ctx.out, name);
    Ok(After::Continue)
}

/// FLUSHDB / FLUSHALL [ASYNC | SYNC]: there is one database, so they are the same.
fn flush(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    match args {
        [_] => {}
        [_, mode] if eq_ignore_case(mode, "ASYNC") || eq_ignore_case(mode, "SYNC") => {}
        _ => return Err(Fail::Syntax),
    }
    ctx.db.clear();
    ok(ctx)
}

fn select(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    match int_arg(&args[1])? {
        0 => ok(ctx),
        _ => Err(Fail::Other("ERR DB index is out of range".into())),
    }
}

/// The few settings clients ask about, with the values of a server that never persists.
const SETTINGS: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "no"),
    ("databases", "1"),
    ("maxmemory", "0"),
];

/// CONFIG GET pattern [pattern ...] (exact names or `*`); other subcommands are refused.
/// redis-benchmark asks for `save` and `appendonly` at startup and wants name/value pairs.
fn config(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let sub = &args[1];
    if eq_ignore_case(sub, "GET") {
        if args.len() < 3 {
            return Err(Fail::Other(
                "ERR wrong number of arguments for 'config|get' command".into(),
            ));
        }
        let matches: Vec<_> = SETTINGS
            .iter()
            .filter(|(name, _)| {
                args[2..]
                    .iter()
                    .any(|pattern| &pattern[..] == b"*" || eq_ignore_case(pattern, name))
            })
            .collect();
        write_array_len(ctx.out, matches.len() * 2);
        for (name, value) in matches {
            write_bulk(ctx.out, name.as_bytes());
            write_bulk(ctx.out, value.as_bytes());
        }
        Ok(After::Continue)
    } else if eq_ignore_case(sub, "SET") && args.len() >= 3 {
        Err(Fail::Other(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(&args[2])
        )))
    } else if eq_ignore_case(sub, "RESETSTAT") {
        ok(ctx)
    } else {
        Err(unknown_subcommand(sub, "CONFIG"))
    }
}

fn unknown_subcommand(sub: &[u8], command: &str) -> Fail {
    Fail::Other(format!(
        "ERR unknown subcommand '{}'. Try {command} HELP.",
        String::from_utf8_lossy(sub)
    ))
}

/// CLIENT SETNAME / SETINFO are accepted and forgotten (client libraries send them on
/// connect); CLIENT GETNAME answers nil, CLIENT ID 0.
fn client(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Outcome {
    let sub = &args[1];
    if eq_ignore_case(sub, "SETNAME") || eq_ignore_case(sub, "SETINFO") {
        ok(ctx)
    } else if eq_ignore_case(sub, "GETNAME") {
        write_null(ctx.out);
        Ok(After::Continue)
    } else if eq_ignore_case(sub, "ID") {
        write_int(ctx.out, 0);
        Ok(After::Continue)
    } else {
        Err(unknown_subcommand(sub, "CLIENT"))
    }
}

fn info(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Outcome {
    let text = format!(
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nserver:mini_redis on spindle\r\n\
         \r\n# Keyspace\r\ndb0:keys={},expires=0\r\n",
        ctx.db.len()
    );
    write_bulk(ctx.out, text.as_bytes());
    Ok(After::Continue)
}
