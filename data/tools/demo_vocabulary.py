"""Topic vocabulary of the fictional demo corpus: per field, subtopics with the phrases that real
papers on them use. generate_demo.py composes titles and abstracts from these."""

SUBTOPICS: dict[str, dict[str, dict[str, list[str]]]] = {
    "semiconductors": {
        "lithography": {
            "topics": ["extreme ultraviolet lithography", "EUV photoresist stochastic defects", "high-NA EUV patterning", "overlay control in multi-patterning", "mask 3D effects in EUV imaging"],
            "methods": ["rigorous electromagnetic mask simulation", "metal-oxide photoresist chemistry", "inverse lithography with machine learning", "wafer-level defect inspection"],
            "findings": ["line-edge roughness below 1.5 nm at 24 nm pitch", "a 30% reduction of stochastic bridging defects", "dose-to-size improved by 20% without loss of resolution"],
        },
        "transistors": {
            "topics": ["gate-all-around nanosheet transistors", "FinFET scaling beyond 3 nm", "complementary FET stacking", "backside power delivery networks", "two-dimensional semiconductor channel transistors"],
            "methods": ["TCAD device simulation", "atomic layer deposition of high-k dielectrics", "cryogenic electrical characterisation", "selective epitaxial growth of SiGe"],
            "findings": ["drive current improved by 18% at matched leakage", "subthreshold swing of 65 mV per decade", "threshold voltage variability reduced across the wafer"],
        },
        "power_devices": {
            "topics": ["gallium nitride high-electron-mobility transistors", "silicon carbide MOSFET reliability", "GaN power converters for data centres", "vertical GaN-on-GaN power diodes", "gate oxide degradation in SiC devices"],
            "methods": ["high-temperature gate bias stress testing", "double-pulse switching measurement", "metal-organic chemical vapour deposition", "electro-thermal co-simulation"],
            "findings": ["breakdown voltage above 1.2 kV with low on-resistance", "switching losses halved compared with silicon IGBTs", "threshold drift below 0.1 V after 1000 hours"],
        },
        "packaging": {
            "topics": ["chiplet integration with hybrid bonding", "3D stacked memory with through-silicon vias", "advanced packaging for heterogeneous integration", "die-to-die interconnect standards", "thermal management of 3D integrated circuits"],
            "methods": ["copper-copper hybrid bonding at fine pitch", "warpage measurement and finite element modelling", "high-speed signal integrity analysis", "interposer design with silicon bridges"],
            "findings": ["bond pitch of 1 micrometre with high yield", "interconnect energy below 0.5 pJ per bit", "junction temperature lowered by 12 K"],
        },
        "chip_design": {
            "topics": ["low-power processor design", "analogue mixed-signal circuit design", "hardware accelerators for neural networks", "SRAM and non-volatile memory circuits", "electronic design automation for placement and routing"],
            "methods": ["place-and-route optimisation with reinforcement learning", "silicon tape-out in a 5 nm process", "static timing analysis", "in-memory computing macros"],
            "findings": ["energy efficiency of 20 TOPS per watt", "design closure time reduced by 40%", "a 28% smaller silicon area at the same throughput"],
        },
    },
    "artificial_intelligence": {
        "language_models": {
            "topics": ["large language models", "instruction tuning of language models", "retrieval-augmented generation", "multilingual language understanding", "reasoning in large language models"],
            "methods": ["transformer pre-training on web-scale text", "reinforcement learning from human feedback", "parameter-efficient fine-tuning", "chain-of-thought prompting"],
            "findings": ["state-of-the-art accuracy on reasoning benchmarks", "fewer hallucinations in open-domain question answering", "strong zero-shot transfer to low-resource languages"],
        },
        "computer_vision": {
            "topics": ["image segmentation", "object detection in cluttered scenes", "self-supervised visual representation learning", "video understanding", "3D scene reconstruction from images"],
            "methods": ["vision transformers", "contrastive learning", "neural radiance fields", "diffusion models for image generation"],
            "findings": ["higher mean average precision on COCO", "robust recognition under domain shift", "real-time inference on embedded hardware"],
        },
        "reinforcement_learning": {
            "topics": ["deep reinforcement learning", "offline reinforcement learning", "multi-agent reinforcement learning", "model-based planning", "exploration in sparse-reward environments"],
            "methods": ["policy gradient methods", "world models learned from pixels", "Monte Carlo tree search", "distributional value functions"],
            "findings": ["sample efficiency improved by an order of magnitude", "stable learning in continuous control benchmarks", "emergent cooperation among agents"],
        },
        "trustworthy_ai": {
            "topics": ["explainable machine learning", "fairness in algorithmic decision making", "adversarial robustness of neural networks", "privacy-preserving federated learning", "uncertainty quantification in deep learning"],
            "methods": ["feature attribution methods", "differential privacy", "certified defences", "Bayesian neural networks"],
            "findings": ["explanations that domain experts judged faithful", "provable robustness guarantees", "reduced demographic disparity without loss of accuracy"],
        },
        "ai_for_science": {
            "topics": ["machine learning for scientific discovery", "graph neural networks for molecules", "AI-driven hypothesis generation", "surrogate models for physical simulation", "automated experiment design"],
            "methods": ["active learning", "physics-informed neural networks", "Bayesian optimisation", "equivariant neural networks"],
            "findings": ["simulation speed-ups of three orders of magnitude", "discovery of candidates validated in the laboratory", "accurate predictions with little training data"],
        },
    },
    "cloud_computing": {
        "distributed_systems": {
            "topics": ["distributed consensus protocols", "fault-tolerant distributed storage", "serverless computing platforms", "geo-replicated databases", "cluster resource scheduling"],
            "methods": ["Raft and Paxos replication", "erasure coding", "container orchestration with Kubernetes", "formal verification of protocols"],
            "findings": ["tail latency reduced by 35%", "throughput scaling linearly to 1000 nodes", "availability maintained under network partitions"],
        },
        "hpc": {
            "topics": ["high-performance computing on exascale systems", "GPU cluster communication", "parallel programming models", "scientific workflow management", "energy-efficient supercomputing"],
            "methods": ["MPI collective optimisation", "performance modelling", "mixed-precision arithmetic", "job scheduling simulation"],
            "findings": ["sustained petaflops performance", "communication overhead cut by half", "30% lower energy per job"],
        },
        "networking": {
            "topics": ["software-defined networking", "edge computing for the Internet of Things", "6G wireless networks", "data centre network congestion control", "optical interconnects for data centres"],
            "methods": ["programmable switches with P4", "network function virtualisation", "queueing theory", "testbed measurements"],
            "findings": ["microsecond-scale latency at the network edge", "higher link utilisation without packet loss", "energy savings in radio access networks"],
        },
        "security": {
            "topics": ["cybersecurity of cloud infrastructure", "intrusion detection", "confidential computing with trusted execution environments", "software supply chain security", "post-quantum cryptography deployment"],
            "methods": ["fuzz testing", "static program analysis", "remote attestation", "lattice-based cryptography"],
            "findings": ["dozens of previously unknown vulnerabilities found", "attacks detected with few false alarms", "practical overhead below 5%"],
        },
    },
    "quantum_technology": {
        "superconducting_qubits": {
            "topics": ["superconducting transmon qubits", "scalable superconducting quantum processors", "two-qubit gate fidelity", "microwave control electronics for qubits", "coherence of superconducting circuits"],
            "methods": ["cryogenic microwave measurement in dilution refrigerators", "tunable couplers", "randomised benchmarking", "flip-chip integration of qubit arrays"],
            "findings": ["two-qubit gate fidelity above 99.9%", "coherence times exceeding 300 microseconds", "reduced crosstalk across a 100-qubit chip"],
        },
        "error_correction": {
            "topics": ["quantum error correction", "surface code logical qubits", "fault-tolerant quantum computation", "bosonic cat qubits", "decoding algorithms for quantum codes"],
            "methods": ["real-time syndrome decoding", "lattice surgery", "magic state distillation", "quantum low-density parity-check codes"],
            "findings": ["logical error rates below the physical error rate", "break-even of a logical qubit memory", "resource estimates for fault-tolerant algorithms"],
        },
        "trapped_ions_photonics": {
            "topics": ["trapped-ion quantum computing", "photonic quantum computing", "neutral atom arrays with optical tweezers", "silicon spin qubits in quantum dots", "measurement-based quantum computation with cluster states"],
            "methods": ["laser cooling and optical trapping", "integrated photonic circuits", "Rydberg blockade gates", "single-electron spin readout"],
            "findings": ["high-fidelity entanglement of many qubits", "deterministic generation of photonic cluster states", "spin qubits operated above one kelvin"],
        },
        "quantum_networks": {
            "topics": ["quantum key distribution", "quantum repeaters and quantum memories", "entanglement distribution over fibre networks", "quantum sensing with nitrogen-vacancy centres", "quantum interconnects between processors"],
            "methods": ["entanglement swapping", "rare-earth doped crystal memories", "single-photon detectors", "microwave-to-optical transduction"],
            "findings": ["entanglement distributed over 100 km of fibre", "secure key rates for metropolitan networks", "magnetic field sensitivity at the nanotesla level"],
        },
        "quantum_software": {
            "topics": ["quantum algorithms", "variational quantum eigensolvers", "quantum compilers", "quantum simulation of many-body systems", "quantum advantage in sampling"],
            "methods": ["circuit optimisation and qubit routing", "error mitigation", "tensor network simulation", "quantum phase estimation"],
            "findings": ["shallower circuits for chemistry problems", "error-mitigated results on noisy hardware", "classical simulation limits of quantum circuits"],
        },
    },
    "robotics": {
        "manipulation": {
            "topics": ["robotic grasping of unknown objects", "dexterous in-hand manipulation", "deformable object manipulation", "robot learning from demonstration", "contact-rich assembly with robot arms"],
            "methods": ["tactile sensing", "imitation learning", "sim-to-real transfer", "impedance control"],
            "findings": ["grasp success above 95% on novel objects", "policies that transfer from simulation without fine-tuning", "robust insertion with millimetre tolerances"],
        },
        "locomotion": {
            "topics": ["legged robot locomotion", "humanoid robot balance control", "quadruped robots on rough terrain", "exoskeletons for walking assistance", "aerial robot swarms"],
            "methods": ["model predictive control", "reinforcement learning in simulation", "whole-body control", "state estimation with inertial sensors"],
            "findings": ["stable walking over rubble and stairs", "energy-efficient gaits", "recovery from strong pushes"],
        },
        "teleoperation_avatars": {
            "topics": ["teleoperated robot avatars", "telepresence robots", "haptic feedback for teleoperation", "shared autonomy between operator and robot", "one operator controlling multiple robots"],
            "methods": ["virtual reality interfaces", "force-feedback master devices", "latency compensation", "user studies of operator workload"],
            "findings": ["task completion with operators far away", "lower workload when operating several avatars", "a strong sense of embodiment in the remote robot"],
        },
        "field_robotics": {
            "topics": ["autonomous robots for disaster response", "space robotics for planetary exploration", "underwater robots", "agricultural field robots", "laboratory automation robots for experiments"],
            "methods": ["simultaneous localisation and mapping", "long-horizon task planning", "multi-robot coordination", "autonomous navigation with lidar"],
            "findings": ["autonomous operation for weeks without human help", "mapping of collapsed buildings", "closed-loop experiments run by robots"],
        },
        "social_care_robots": {
            "topics": ["human-robot interaction", "care robots for older adults", "social robots in education", "safety of collaborative robots", "robots that learn alongside humans"],
            "methods": ["field trials in care homes", "intention recognition", "natural language instruction following", "physical human-robot interaction control"],
            "findings": ["acceptance by residents and caregivers", "fewer collisions in shared workspaces", "robots that adapt to individual users"],
        },
    },
    "biotechnology": {
        "genomics": {
            "topics": ["single-cell RNA sequencing", "genome-wide association studies", "CRISPR gene editing", "epigenetic regulation of gene expression", "long-read genome sequencing"],
            "methods": ["high-throughput sequencing", "base editing", "chromatin accessibility profiling", "computational genomics pipelines"],
            "findings": ["cell types not described before", "causal variants for complex traits", "precise editing with few off-target effects"],
        },
        "synthetic_biology": {
            "topics": ["synthetic biology of engineered microbes", "metabolic engineering for biomanufacturing", "protein design", "directed evolution of enzymes", "cell-free biosynthesis"],
            "methods": ["genetic circuit design", "deep learning for protein structure", "adaptive laboratory evolution", "fermentation scale-up"],
            "findings": ["titres high enough for industrial production", "enzymes with new catalytic functions", "designed proteins that fold as predicted"],
        },
        "systems_biology": {
            "topics": ["systems biology of inter-organ communication", "mathematical modelling of signalling networks", "metabolomics of disease progression", "multi-omics integration", "dynamical network biomarkers of pre-disease states"],
            "methods": ["network inference from time-series data", "ordinary differential equation models", "mass spectrometry metabolomics", "longitudinal cohort data"],
            "findings": ["early warning signals before disease onset", "organ-to-organ signals that control metabolism", "models that predict individual trajectories"],
        },
        "microbiology": {
            "topics": ["the human gut microbiome", "antimicrobial resistance", "bacteriophage therapy", "microbial ecology", "host-pathogen interactions"],
            "methods": ["metagenomic sequencing", "germ-free mouse models", "culturomics", "comparative genomics"],
            "findings": ["microbial species linked to disease risk", "resistance genes spreading across hospitals", "phages that clear resistant infections"],
        },
    },
    "medicine_health": {
        "oncology": {
            "topics": ["cancer immunotherapy", "early cancer detection from liquid biopsy", "tumour microenvironment", "targeted therapy resistance", "CAR-T cell therapy for solid tumours"],
            "methods": ["randomised clinical trials", "circulating tumour DNA analysis", "patient-derived organoids", "spatial transcriptomics"],
            "findings": ["improved overall survival", "detection of cancer at stage I", "biomarkers that predict response to treatment"],
        },
        "dementia": {
            "topics": ["Alzheimer's disease", "early diagnosis of dementia", "amyloid and tau biomarkers", "cognitive decline in ageing", "dementia care and prevention"],
            "methods": ["blood-based biomarkers", "PET imaging", "longitudinal cohort studies", "digital cognitive assessment"],
            "findings": ["diagnosis years before symptoms", "modifiable risk factors for cognitive decline", "slower decline under treatment"],
        },
        "immunology_inflammation": {
            "topics": ["chronic inflammation", "immune ageing", "vaccine immunology", "autoimmune disease", "sleep and immune function"],
            "methods": ["mass cytometry", "mouse models of inflammation", "clinical cohort analysis", "immune repertoire sequencing"],
            "findings": ["inflammatory pathways that drive multimorbidity", "durable protective immunity", "links between poor sleep and inflammation"],
        },
        "digital_health": {
            "topics": ["wearable health monitoring", "home-based diagnostics", "telemedicine", "machine learning on electronic health records", "continuous glucose monitoring"],
            "methods": ["prospective validation studies", "smartphone sensing", "deep learning on clinical data", "point-of-care testing"],
            "findings": ["accurate detection of atrial fibrillation at home", "fewer hospital admissions", "early warning of clinical deterioration"],
        },
        "epidemiology": {
            "topics": ["cardiovascular disease epidemiology", "infectious disease transmission", "public health interventions", "healthy ageing and longevity", "global burden of chronic disease"],
            "methods": ["population cohort studies", "mendelian randomisation", "transmission modelling", "meta-analysis"],
            "findings": ["risk reduced by lifestyle change", "estimates of the reproduction number", "inequalities in healthy life expectancy"],
        },
    },
    "neuroscience": {
        "bmi": {
            "topics": ["brain-machine interfaces", "decoding movement intentions from neural signals", "intracortical microelectrode arrays", "non-invasive EEG brain-computer interfaces", "neuroprosthetics for paralysis"],
            "methods": ["neural population decoding", "closed-loop stimulation", "electrocorticography", "adaptive decoders"],
            "findings": ["typing speeds approaching natural handwriting", "control of robotic arms by thought", "stable decoding for months"],
        },
        "circuits": {
            "topics": ["neural circuits of decision making", "hippocampal memory consolidation", "dopamine and reward learning", "cortical dynamics", "neural basis of emotion"],
            "methods": ["two-photon calcium imaging", "optogenetics", "large-scale electrophysiology", "computational modelling of neural networks"],
            "findings": ["neurons that encode value", "replay events that predict memory", "circuits that control fear responses"],
        },
        "sleep_cognition": {
            "topics": ["sleep regulation", "circadian rhythms", "attention and working memory", "consciousness and anaesthesia", "neural mechanisms of creativity"],
            "methods": ["polysomnography", "functional MRI", "transcranial magnetic stimulation", "behavioural experiments"],
            "findings": ["genes that control sleep need", "brain networks that support insight", "markers of conscious states"],
        },
        "neuroimaging_mental": {
            "topics": ["neuroimaging of depression", "brain connectivity in psychiatric disorders", "neural markers of stress", "developmental brain imaging", "empathy in the brain"],
            "methods": ["resting-state functional connectivity", "diffusion tensor imaging", "machine learning on brain scans", "hyperscanning of interacting brains"],
            "findings": ["connectivity patterns that predict treatment response", "neural synchrony during cooperation", "biomarkers of resilience to stress"],
        },
    },
    "psychology_society": {
        "mental_health": {
            "topics": ["depression and anxiety", "digital mental health interventions", "loneliness and social isolation", "resilience and well-being", "workplace mental health"],
            "methods": ["randomised controlled trials of psychotherapy", "experience sampling", "large online surveys", "cognitive behavioural therapy apps"],
            "findings": ["symptoms reduced after eight weeks", "loneliness linked to poorer health", "lasting gains in well-being"],
        },
        "social_cognition": {
            "topics": ["empathy and prosocial behaviour", "creativity and flow", "trust in human-agent interaction", "motivation and curiosity", "cultural differences in emotion"],
            "methods": ["behavioural economics experiments", "cross-cultural studies", "virtual reality experiments", "computational models of social learning"],
            "findings": ["empathy trained in short interventions", "conditions that foster creative ideas", "people who over-trust automated agents"],
        },
        "ethics_society": {
            "topics": ["ethics of emerging technologies", "responsible innovation", "public acceptance of new technology", "inclusive society and disability", "law and governance of artificial intelligence"],
            "methods": ["deliberative workshops", "qualitative interviews", "policy analysis", "mixed-methods studies"],
            "findings": ["conditions for public trust", "governance options for new technologies", "barriers to inclusion"],
        },
    },
    "materials": {
        "two_d_materials": {
            "topics": ["graphene and two-dimensional materials", "transition metal dichalcogenides", "van der Waals heterostructures", "topological materials", "moire superlattices"],
            "methods": ["chemical vapour deposition growth", "scanning tunnelling microscopy", "angle-resolved photoemission", "first-principles calculations"],
            "findings": ["wafer-scale single-crystal films", "superconductivity in twisted bilayers", "record carrier mobility"],
        },
        "polymers_plastics": {
            "topics": ["biodegradable polymers", "marine-degradable plastics", "chemical recycling of plastics", "self-healing materials", "bio-based polymers from biomass"],
            "methods": ["ring-opening polymerisation", "enzymatic depolymerisation", "seawater degradation tests", "mechanical testing"],
            "findings": ["plastics that degrade in seawater within months", "monomers recovered at high purity", "strength comparable to conventional plastics"],
        },
        "catalysis": {
            "topics": ["heterogeneous catalysis", "electrocatalysts for water splitting", "single-atom catalysts", "photocatalysis", "catalysts for carbon dioxide conversion"],
            "methods": ["in situ X-ray absorption spectroscopy", "density functional theory", "high-throughput catalyst screening", "operando electron microscopy"],
            "findings": ["overpotentials below 250 mV", "selectivity above 90% to the target product", "catalysts stable for thousands of hours"],
        },
        "functional_materials": {
            "topics": ["spintronic materials", "oxide electronics", "perovskite materials", "thermoelectric materials", "materials discovery with machine learning"],
            "methods": ["pulsed laser deposition", "high-throughput computation", "neutron scattering", "magnetic characterisation"],
            "findings": ["room-temperature spin transport", "higher thermoelectric figure of merit", "new stable compounds predicted and made"],
        },
    },
    "energy_fusion": {
        "fusion_plasma": {
            "topics": ["tokamak plasma confinement", "fusion plasma turbulence", "stellarator optimisation", "plasma disruptions mitigation", "burning plasma physics"],
            "methods": ["gyrokinetic simulation", "magnetic diagnostics", "integrated modelling", "machine learning control of plasma shape"],
            "findings": ["improved confinement time", "disruptions predicted in time to act", "turbulent transport reduced"],
        },
        "fusion_technology": {
            "topics": ["high-temperature superconducting magnets for fusion", "fusion neutron sources", "laser inertial fusion", "muon-catalysed fusion", "lithium isotope separation for fusion fuel", "plasma-facing components and in-vessel materials", "tritium breeding blankets"],
            "methods": ["REBCO tape magnet testing", "neutron irradiation experiments", "high-power laser experiments", "tungsten divertor testing"],
            "findings": ["magnetic fields above 20 tesla", "materials that withstand high neutron fluence", "higher target gain in laser fusion"],
        },
        "batteries_hydrogen": {
            "topics": ["solid-state lithium batteries", "sodium-ion batteries", "hydrogen production by electrolysis", "fuel cells", "hydrogen storage"],
            "methods": ["electrochemical impedance spectroscopy", "operando X-ray diffraction", "electrolyser stack testing", "techno-economic analysis"],
            "findings": ["energy density above 400 Wh per kg", "cycle life over 5000 cycles", "green hydrogen at lower cost"],
        },
        "renewables_grid": {
            "topics": ["perovskite solar cells", "offshore wind power", "power grid stability with renewables", "energy storage systems", "demand response in smart grids"],
            "methods": ["grid simulation", "device fabrication", "optimisation of power flows", "field measurements"],
            "findings": ["solar cell efficiency above 26%", "grid frequency kept stable at high renewable share", "storage costs reduced"],
        },
    },
    "climate_environment": {
        "carbon_capture": {
            "topics": ["direct air capture of carbon dioxide", "negative emissions technologies", "carbon dioxide conversion to fuels", "enhanced rock weathering", "ocean alkalinity enhancement"],
            "methods": ["sorbent material screening", "life-cycle assessment", "pilot plant operation", "techno-economic modelling"],
            "findings": ["capture energy below 5 GJ per tonne", "net removal of greenhouse gases", "costs on a path below 100 dollars per tonne"],
        },
        "nitrogen_pollution": {
            "topics": ["nitrogen cycle and nitrous oxide emissions", "ammonia recovery from wastewater", "microplastics in the ocean", "air pollution and health", "remediation of contaminated soils"],
            "methods": ["field sampling campaigns", "isotope tracing", "membrane separation", "environmental monitoring networks"],
            "findings": ["nitrogen recovered as fertiliser", "microplastic fluxes quantified", "emissions reduced by half"],
        },
        "climate_ecosystems": {
            "topics": ["climate change impacts on ecosystems", "biodiversity loss", "forest carbon sinks", "ocean acidification", "permafrost thaw"],
            "methods": ["Earth system models", "remote sensing", "long-term ecological monitoring", "species distribution models"],
            "findings": ["declining carbon uptake of forests", "shifts of species ranges", "tipping points in ecosystems"],
        },
        "circular_economy": {
            "topics": ["circular economy of materials", "waste recycling systems", "resource efficiency", "sustainable consumption", "environmental policy evaluation"],
            "methods": ["material flow analysis", "input-output modelling", "scenario analysis", "policy evaluation"],
            "findings": ["material use decoupled from growth", "recycling rates raised", "emissions cut along supply chains"],
        },
    },
    "weather": {
        "tropical_cyclones": {
            "topics": ["typhoon intensity prediction", "tropical cyclone dynamics", "rapid intensification of hurricanes", "storm surge modelling", "typhoon track forecasting"],
            "methods": ["cloud-resolving simulation", "aircraft reconnaissance observations", "ensemble forecasting", "satellite microwave retrievals"],
            "findings": ["better forecasts of rapid intensification", "track errors reduced by 15%", "processes that limit storm intensity"],
        },
        "precipitation": {
            "topics": ["extreme rainfall events", "linear rainbands and torrential rain", "cloud microphysics", "convective storms", "flood risk from heavy precipitation"],
            "methods": ["weather radar analysis", "large-eddy simulation", "hydrological modelling", "statistical downscaling"],
            "findings": ["earlier warnings of heavy rain", "better representation of convection", "flood damage estimates under climate change"],
        },
        "nwp_assimilation": {
            "topics": ["numerical weather prediction", "data assimilation", "machine learning weather forecasting", "predictability of the atmosphere", "observing system design"],
            "methods": ["ensemble Kalman filters", "four-dimensional variational assimilation", "neural network emulators", "observing system simulation experiments"],
            "findings": ["forecast skill extended by a day", "faster forecasts at equal accuracy", "observations with the largest impact"],
        },
        "weather_modification": {
            "topics": ["weather modification and control", "cloud seeding", "controllability of the atmosphere", "intervention in tropical cyclones", "ethics and governance of weather control"],
            "methods": ["sensitivity analysis with ensembles", "control theory applied to chaotic systems", "numerical intervention experiments", "aerosol-cloud interaction modelling"],
            "findings": ["small perturbations that change storm intensity", "limits of controllability", "side effects quantified in simulation"],
        },
    },
    "food_agriculture": {
        "crops": {
            "topics": ["crop breeding for drought tolerance", "photosynthesis improvement in rice", "plant disease resistance", "genomic selection in crops", "nitrogen use efficiency of crops"],
            "methods": ["field trials", "genome editing of crops", "high-throughput plant phenotyping", "quantitative trait locus mapping"],
            "findings": ["yield gains under drought", "resistance without yield penalty", "less fertiliser for the same yield"],
        },
        "soil_microbiome": {
            "topics": ["soil microbiome", "plant growth-promoting bacteria", "soil carbon and fertility", "mycorrhizal fungi", "regenerative agriculture"],
            "methods": ["amplicon sequencing", "greenhouse experiments", "long-term field experiments", "stable isotope probing"],
            "findings": ["microbes that raise crop yield", "soil carbon increased over a decade", "healthier soils with fewer inputs"],
        },
        "alternative_proteins": {
            "topics": ["insects as food and feed", "cultured meat", "microbial protein from fermentation", "plant-based meat alternatives", "microalgae for food"],
            "methods": ["cell culture scale-up", "precision fermentation", "sensory evaluation", "life-cycle assessment of food"],
            "findings": ["protein yield per land area far above livestock", "lower cost of culture media", "products consumers accepted in taste tests"],
        },
        "food_systems": {
            "topics": ["food loss and waste", "food security", "aquaculture", "sustainable food systems", "supply chains of food"],
            "methods": ["household surveys", "system dynamics modelling", "cold-chain monitoring", "policy analysis"],
            "findings": ["food waste cut by a third", "resilience of supply to shocks", "sustainable fish farming practices"],
        },
    },
}

TITLE_TEMPLATES = [
    "{Topic} using {method}",
    "{Method} for {topic}",
    "Towards {topic}: {a_finding}",
    "{Topic} with {method}: {a_finding}",
    "Understanding {topic} through {method}",
    "A study of {topic} by {method}",
    "Scalable {topic} enabled by {method}",
    "{Topic}: challenges and opportunities",
    "Advances in {topic} and {topic2}",
    "Improving {topic} with {method}",
]

ABSTRACT_OPENINGS = [
    "{Topic} is a central problem for {field_label_lower}.",
    "Progress in {topic} has been limited by the difficulty of {topic2}.",
    "Recent work on {topic} has opened new questions about {topic2}.",
    "{Topic} matters for applications that range from industry to society.",
]
ABSTRACT_METHODS = [
    "Here we combine {method} with {method2} to study {topic}.",
    "We develop an approach based on {method} and apply it to {topic2}.",
    "Using {method}, we analyse {topic} in a series of experiments.",
    "We present a framework that uses {method} for {topic}.",
]
ABSTRACT_RESULTS = [
    "The results show {finding}.",
    "We observe {finding}, and {finding2}.",
    "Compared with previous approaches, we achieve {finding}.",
    "Our measurements reveal {finding}.",
]
ABSTRACT_CLOSINGS = [
    "These findings advance {topic} and point to {topic2}.",
    "The approach can be extended to {topic2}.",
    "This work provides a basis for future research on {topic2}.",
    "We discuss implications for {field_label_lower} and open problems.",
]
