def rule_0(ctx, v_cm):
    _now = ctx.now
    if not _r.truthy(_r.contains(_r.attr(v_cm, 'data'), 'mode')):
        ctx.dormant = 1
        return None
    v_mode = _r.path(v_cm, ('data', 'mode'))
    v_keys = [v_k for v_k in _r.iterate(_r.attr(v_cm, 'data')) if _r.ne(v_k, 'mode')]
    if _r.truthy(_r.eq(v_mode, 'upper')):
        v_mode_1 = _b_upper(v_mode)
        ctx.set(v_cm, ('metadata', 'labels', 'mode', ), _b_lower(v_mode_1), 11)
    for v_mode_2 in _r.iterate(v_keys):
        ctx.set(v_cm, ('metadata', 'annotations', v_mode_2, ), 'seen', 13)
    ctx.set(v_cm, ('metadata', 'labels', 'size', ), ('big' if _r.gt(_b_count(v_keys), 3) else 'small'), 14)
    ctx.set(v_cm, ('metadata', 'labels', 'last', ), v_mode, 15)
    return None
