"""Places and roads: the network the actors move on and the residents live in."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from sim.scenario import schema


@dataclass(frozen=True)
class Geography:
    """Arrays over places (index order = scenario order) and road distances between them."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    serb: np.ndarray  # Kosovo Serb residents per place
    contested: np.ndarray  # bool: crowds gather here
    serb_majority: np.ndarray  # bool: a police operation here costs legitimacy
    in_kosovo: np.ndarray  # bool
    municipality: tuple[str, ...]
    road_km: np.ndarray  # all-pairs shortest road distance, inf where unconnected
    graph: nx.Graph

    @classmethod
    def from_scenario(cls, geo: schema.Geography) -> Geography:
        places = geo.places
        graph = nx.Graph()
        for p in places:
            graph.add_node(p.id)
        for link in geo.links:
            graph.add_edge(link.a, link.b, km=link.km)
        ids = tuple(p.id for p in places)
        n = len(ids)
        km = np.full((n, n), np.inf)
        index = {pid: i for i, pid in enumerate(ids)}
        for src, dists in nx.all_pairs_dijkstra_path_length(graph, weight="km"):
            for dst, d in dists.items():
                km[index[src], index[dst]] = d
        pops = [p.population for p in places]
        return cls(
            ids=ids,
            names=tuple(p.name for p in places),
            lat=np.array([p.lat for p in places]),
            lon=np.array([p.lon for p in places]),
            serb=np.array([pop.serb for pop in pops], dtype=np.int64),
            contested=np.array([p.contested for p in places]),
            serb_majority=np.array([pop.serb > pop.albanian + pop.other for pop in pops]),
            in_kosovo=np.array([p.side == "kosovo" for p in places]),
            municipality=tuple(p.municipality or p.id for p in places),
            road_km=km,
            graph=graph,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def index(self, place_id: str) -> int:
        return self.ids.index(place_id)

    def gathering_site(self) -> np.ndarray:
        """For each place, the contested place of its municipality where its crowds gather (itself if none)."""
        site = np.arange(self.n)
        for i in range(self.n):
            if self.contested[i] or not self.in_kosovo[i]:
                continue
            same = [
                j for j in range(self.n) if self.contested[j] and self.municipality[j] == self.municipality[i]
            ]
            if same:
                site[i] = min(same, key=lambda j: self.road_km[i, j])
        return site

    def network(self, random) -> Network:
        """The places as a mesa.discrete_space.Network laid out at their coordinates."""
        layout = {pid: (float(x), float(y)) for pid, x, y in zip(self.ids, self.lon, self.lat, strict=True)}
        return Network(self.graph, random=random, layout=layout)
