"""Constants taken from the research seeds, each with its source.

The seeds live in ``../shared/seeds``. Only their formulas, tables and numbers are used as a
spec; their prose overclaims. Everything tunable by the product (not by a seed) is marked
"product choice".
"""

from __future__ import annotations

# --- Motion representation -------------------------------------------------------------------
#: Output frame rate of every generated or retargeted motion.
#: Source: seed 002 section 5 ("real-time rendering frame rate of 25 FPS").
FPS: float = 25.0

# --- MDN (seed 002 section 4, eq. 7) --------------------------------------------------------
#: Number of Gaussian components. Source: seed 002 eq. 7, "k = 5".
MDN_COMPONENTS: int = 5
#: Text embedding width fed to the MDN. Source: seed 002 section 4 ("256-dimensional textual
#: description embedding").
TEXT_EMBED_DIM: int = 256
#: Reference-skeleton feature width. Source: seed 002 section 4 ("128-dimensional reference
#: skeleton features").
SKELETON_FEATURE_DIM: int = 128
#: Per-joint std-dev floors of the mixture components. Source: seed 002 section 4: wrist
#: sigma = 0.15 (loose), spine sigma = 0.05 (tightly held). Units: the MDN models each joint's
#: rotation in the 6D representation (two unit matrix columns), so a floor of 0.15 is about 0.15 rad
#: (8.6 degrees) of rotation; joints between the two (elbows aside) use SIGMA_FLOOR_DEFAULT.
SIGMA_FLOOR_LOOSE: float = 0.15
SIGMA_FLOOR_TIGHT: float = 0.05
SIGMA_FLOOR_DEFAULT: float = 0.10  # product choice: midway
#: Floors of the root channels (product choice): height m, ground velocity m/s, yaw rate rad/s.
SIGMA_FLOOR_ROOT: tuple[float, float, float, float] = (0.02, 0.05, 0.05, 0.05)

# --- MDN network size and phase inputs (product choices) ------------------------------------
LSTM_HIDDEN: int = 192  # sized so the full run trains in about half an hour on 2 CPU cores
LSTM_LAYERS: int = 2
#: Periods (s) of the sin/cos phase features fed to the BiLSTM beside the seed's 384-d input, so
#: that a model trained on windows of a few seconds runs for any duration from 1 to 60 s.
PHASE_PERIODS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
MIN_SECONDS: float = 1.0
#: Upper bound of the sampling temperature (product choice: beyond it the draws are mostly noise).
MAX_TEMPERATURE: float = 2.0
MAX_SECONDS: float = 60.0
#: Below this cosine similarity between the prompt and the closest training (content, style)
#: caption pair, the prompt is reported as not understood (CLI, batch, audit). Product choice from
#: measurements with the shipped encoder and model: 36 English prompts (20 written for this, 16
#: unseen paraphrases of training/unseen_prompts.json) score 0.43 to 0.90; 22 Chinese, Arabic,
#: Russian, Japanese, Korean, Hindi, Hebrew, emoji and nonsense prompts 0.15 to 0.29. 0.35 sits in
#: the gap.
PROMPT_MIN_SIMILARITY: float = 0.35

# --- Cultural-constraint loss (seed 002 eq. 8) ---------------------------------------------
#: Weight of ||theta - theta_ref||^2. Source: seed 002 eq. 8, "lambda = 1.2".
LAMBDA_REF: float = 1.2
#: Weight of the joint-limit hinge. Source: seed 002 eq. 8, "eta = 0.8".
ETA_LIMIT: float = 0.8

# --- Contrastive memory (seed 002 eqs. 3-4) -------------------------------------------------
#: Temperature of the visual contrastive loss. Source: seed 002 eq. 3, "gamma = 0.07".
GAMMA_TEMPERATURE: float = 0.07
#: Semantic triplet margins by sacredness. Source: seed 002 eq. 4: 1.2 sacred, 0.8 decorative.
MARGIN_SACRED: float = 1.2
MARGIN_DECORATIVE: float = 0.8

# --- Symbol binding (seed 002 section 5.1, eq. 9) -------------------------------------------
#: A totem element is injected where the semantic trajectory changes faster than this.
#: Source: seed 002 section 5.1, "when d h_sem / d t > 0.35". Units (not given by the seed): the
#: speed of the unit vector h_sem per second (motion_core/patterns/symbols.py).
SYMBOL_RATE_THRESHOLD: float = 0.35
#: Triggers at least this far apart (product choice: one symbol per gesture).
SYMBOL_MIN_GAP_S: float = 1.0
#: How long eps(t) stays at 1 after a trigger (product choice).
SYMBOL_HOLD_S: float = 0.4
#: Goal for the lag between the bone event and the symbol's change in the rendered frames
#: (issue #12: one frame at 25 fps; the seed reports 0.12 +- 0.03 s).
SYMBOL_LAG_GOAL_S: float = 0.04

# --- Projected-gradient IK (seed 002 eq. 9 and section 5.1) ---------------------------------
#: Initial step size, adapted by Armijo backtracking. Source: seed 002 eq. 9, "alpha = 0.1".
IK_ALPHA: float = 0.1
#: Joint-position error threshold in metres. Source: seed 002 section 5.1, "delta = 0.03 m".
IK_DELTA_M: float = 0.03
#: Consecutive iterations under IK_DELTA_M before stopping. Source: seed 002 section 5.1
#: ("three consecutive frames"; read here as three consecutive iterations).
IK_STOP_PATIENCE: int = 3

# --- Data preparation (product choices) -----------------------------------------------------
#: Foot-contact labels: a foot is planted when its speed is under this (m/s) ...
CONTACT_SPEED_M_S: float = 0.25
#: ... and its height above the clip's floor is under this (m).
CONTACT_HEIGHT_M: float = 0.06
#: A model's foot-contact output (a probability) above this counts as planted (product choice: the
#: decision boundary of the binary cross-entropy the contact head is trained with).
CONTACT_PROBABILITY: float = 0.5
#: Share of clips held out for validation (split by clip, deterministic by file name).
VALIDATION_FRACTION: float = 0.1

# --- Input bounds (product choices) -------------------------------------------------------
# What is physically meaningful for human motion capture; anything outside is refused with the
# file and line named, before memory is allocated for it.
#: BVH "Frame Time" accepted: 1/1000 s to 10 s per frame, i.e. 1000 fps (the fastest optical
#: capture systems) down to 0.1 fps (a pose every 10 s, key poses).
BVH_MIN_FRAME_TIME_S: float = 1e-3
BVH_MAX_FRAME_TIME_S: float = 10.0
#: Frame count and duration of a BVH clip: at most 1,000,000 frames (16.7 min at 1000 fps) and
#: 1 hour (capture takes run for minutes; an hour at 25 fps is 90,000 frames, about 0.3 GB of rotations).
BVH_MAX_FRAMES: int = 1_000_000
BVH_MAX_DURATION_S: float = 3600.0
#: Deepest joint chain of a BVH hierarchy: a human skeleton with fingers is about 10 to 30 joints
#: deep; 512 leaves room for tails, props and twist chains.
BVH_MAX_DEPTH: int = 512
#: Rule-pack JSON: at most 16 MiB (the built-in packs are a few kB; a prior of 21 joints about 10 kB),
#: nested at most 32 levels (the format uses 6), integers of at most 20 digits.
PACK_MAX_BYTES: int = 16 * 1024 * 1024
PACK_MAX_DEPTH: int = 32
PACK_MAX_INT_DIGITS: int = 20

# --- Pattern restoration GAN (seed 001 section 3.3; issue #13) -------------------------------
#: Weight of the adversarial loss (eq. 8, non-saturating form for G). Source: seed 001 section 4,
#: "lambda_adv = 1.0".
RESTORE_ADV_WEIGHT: float = 1.0
#: Weight of the L1 reconstruction loss (images in [-1, 1]). Product choice: the seed has no
#: reconstruction term (it generates from noise); 100 as in pix2pix (Isola et al. 2017).
RESTORE_L1_WEIGHT: float = 100.0
#: Weight of the (1 - SSIM) loss. Product choice: SSIM is the seed's restoration metric; 10 makes it
#: about as large as the L1 term at the start of training.
RESTORE_SSIM_WEIGHT: float = 10.0
#: Adam learning rate and betas for G and D. Source: seed 001 section 4 ("learning rate = 0.0002,
#: beta1 = 0.5, beta2 = 0.999").
RESTORE_LR: float = 2e-4
RESTORE_BETAS: tuple[float, float] = (0.5, 0.999)
#: LeakyReLU slope. Source: seed 001 eq. 11 ("alpha 0.2").
RESTORE_LEAKY_SLOPE: float = 0.2
#: Share of training views whose damage mask is given to the generator (the rest see "unknown").
#: Product choice: one half each, so the one network serves both.
RESTORE_MASK_GIVEN_SHARE: float = 0.5
#: Probability that each kind of wear is left out of a training view (damage.random_params). Product
#: choice: at 0 every view was faded, so the first shipped model (4,000 steps) also re-toned intact
#: prints and lost SSIM where only holes struck; at 0.5 a quarter of views have no fading and 1 in 16
#: has one kind of wear only. Only the warm-started second stage of the shipped run used it.
RESTORE_KIND_OFF_SHARE: float = 0.5
#: "Only the masked pixels" restoration changes the mask grown by this many pixels (a hole's browned
#: rim fades below the mask's threshold at its edge). Product choice on the 24 validation prints
#: (training/patterns/train_restore.py), never the test split, made midway through stage 2 and checked on
#: the shipped weights: SSIM on insect holes alone 0.9923 / 0.9932 / 0.9935 and on mould alone 0.9903 /
#: 0.9894 / 0.9897 at 0 / 1 / 2 px (Telea 0.9898 and 0.9777 at 0 px); 1 and 2 px are within 0.0003.
RESTORE_ONLY_MASKED_GROW_PX: int = 1
#: Largest image the Restore Pattern Image operator takes, in pixels. Product choice: 2048 x 2048 is
#: 81 tiles of 256 px, 10 to 40 s on one core (bench/bench_restore.py: 0.13 s a tile on an idle core,
#: about 0.5 s on the shared machine under load).
RESTORE_MAX_PIXELS: int = 2048 * 2048

# --- Pattern GAN: variants and coherent animation (#13 items 2-3) -------------------------------
#: Generator (seed 001 section 3.3.1, Table 2): noise size, "generally between 100 and 512"; 100 here
#: (the low end: a small data set, product choice within the seed's range).
GAN_Z_DIM: int = 100
#: Condition: the pattern encoder's visual embedding (seed 002 eq. 3, VIS_DIM 128; product choice).
GAN_COND_DIM: int = 128
#: Seed 001 Table 2: Dense + Reshape to 4x4x512, then transposed convolutions (4x4, stride 2, pad 1)
#: to 8x8x256, 16x16x128, 32x32x64 (BN + ReLU) and 64x64x3 (Tanh).
GAN_G_CHANNELS: tuple[int, ...] = (512, 256, 128, 64)
#: Seed 001 Table 3: convolutions (4x4, stride 2, pad 1) to 32x32x64, 16x16x128, 8x8x256, 4x4x512.
GAN_D_CHANNELS: tuple[int, ...] = (64, 128, 256, 512)
#: Seed 001 eq. 11: LeakyReLU alpha 0.2.
GAN_LEAKY_SLOPE: float = 0.2
#: Seed 001 section 3.3.4: self-attention (eq. 13) "after mid-level feature extraction": after the
#: generator's 2nd transposed convolution (16x16x128) and the discriminator's 2nd convolution
#: (16x16x128); index into the up/down layers (product choice of which mid level).
GAN_G_ATTN_AFTER: int = 1
GAN_D_ATTN_AFTER: int = 1
#: Image size of the GAN (Table 2's 64x64x3 output).
GAN_SIZE: int = 64
#: Adam learning rate. Source: seed 001 section 4 ("learning rate = 0.0002, beta1 = 0.5, beta2 = 0.999").
GAN_LR: float = 2e-4
#: Animation (product choices): per-frame noise size, trajectory LSTM width, latent step per frame at
#: full driver energy as a share of |z| (0.05: about 2.9 degrees on z's sphere; the step's length is
#: set by the driver, its direction by the network), training sequence length in frames.
ANIM_NOISE_DIM: int = 16
ANIM_HIDDEN: int = 128
ANIM_Z_STEP: float = 0.05
ANIM_TRAIN_FRAMES: int = 12
#: Motion driver: mean joint speed (m/s) that counts as full energy 1.0 (product choice: a brisk
#: dance step moves the joints at about 1.5 m/s on average).
ANIM_FULL_ENERGY_SPEED_M_S: float = 1.5
