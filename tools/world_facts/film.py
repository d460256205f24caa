"""Film: film -> director. Titles carry a year where another work shares them.

FILMS row: (film, director aliases).
"""

_SPIELBERG = "Steven Spielberg|Spielberg"
_HITCHCOCK = "Alfred Hitchcock|Hitchcock"
_COPPOLA = "Francis Ford Coppola|Coppola"
_TARANTINO = "Quentin Tarantino|Tarantino"
_CAMERON = "James Cameron"
_KUBRICK = "Stanley Kubrick|Kubrick"
_KUROSAWA = "Akira Kurosawa|Kurosawa"
_MIYAZAKI = "Hayao Miyazaki|Miyazaki"
_NOLAN = "Christopher Nolan|Nolan"
_SCORSESE = "Martin Scorsese|Scorsese"
_FELLINI = "Federico Fellini|Fellini"
_RIDLEY = "Ridley Scott|Sir Ridley Scott"
_ZEMECKIS = "Robert Zemeckis|Zemeckis"
_COENS = "the Coen brothers|Coen brothers|Joel Coen|Ethan Coen|Joel and Ethan Coen|Coens"
_FLEMING = "Victor Fleming"
_LEAN = "David Lean"
_DEL_TORO = "Guillermo del Toro|del Toro"
_ANG_LEE = "Ang Lee"
_CUARON = "Alfonso Cuarón|Alfonso Cuaron|Cuarón|Cuaron"
_CHAPLIN = "Charlie Chaplin|Chaplin|Charles Chaplin"
_WILDER = "Billy Wilder"
_BOYLE = "Danny Boyle"

FILMS = [
    ("Jaws (1975)", _SPIELBERG),
    ("E.T. the Extra-Terrestrial", _SPIELBERG),
    ("Schindler's List", _SPIELBERG),
    ("Jurassic Park (1993)", _SPIELBERG),
    ("Psycho (1960)", _HITCHCOCK),
    ("Vertigo (1958)", _HITCHCOCK),
    ("The Birds (1963)", _HITCHCOCK),
    ("The Godfather (1972)", _COPPOLA),
    ("Apocalypse Now", _COPPOLA),
    ("Pulp Fiction", _TARANTINO),
    ("Kill Bill: Volume 1", _TARANTINO),
    ("Titanic (1997)", _CAMERON),
    ("Avatar (2009)", _CAMERON),
    ("The Terminator (1984)", _CAMERON),
    ("2001: A Space Odyssey", _KUBRICK),
    ("A Clockwork Orange (1971)", _KUBRICK),
    ("The Shining (1980)", _KUBRICK),
    ("Dr. Strangelove", _KUBRICK),
    ("Star Wars (1977)", "George Lucas|Lucas"),
    ("Citizen Kane", "Orson Welles|Welles"),
    ("Seven Samurai", _KUROSAWA),
    ("Rashomon", _KUROSAWA),
    ("Spirited Away", _MIYAZAKI),
    ("My Neighbor Totoro", _MIYAZAKI),
    ("Inception", _NOLAN),
    ("The Dark Knight", _NOLAN),
    ("Oppenheimer (2023)", _NOLAN),
    ("Taxi Driver", _SCORSESE),
    ("Goodfellas", _SCORSESE),
    ("Raging Bull", _SCORSESE),
    ("The Lord of the Rings film trilogy (2001-2003)", "Peter Jackson"),
    ("Parasite (2019)", "Bong Joon-ho|Bong Joon Ho|Bong Joonho"),
    ("La Dolce Vita", _FELLINI),
    ("8½ (1963)", _FELLINI),
    ("Bicycle Thieves", "Vittorio De Sica|De Sica"),
    ("The Seventh Seal", "Ingmar Bergman|Bergman"),
    ("Breathless (1960)", "Jean-Luc Godard|Godard"),
    ("The 400 Blows", "François Truffaut|Francois Truffaut|Truffaut"),
    ("Metropolis (1927)", "Fritz Lang"),
    ("Battleship Potemkin", "Sergei Eisenstein|Eisenstein"),
    ("Blade Runner (1982)", _RIDLEY),
    ("Alien (1979)", _RIDLEY),
    ("Gladiator (2000)", _RIDLEY),
    ("The Matrix (1999)", "the Wachowskis|Wachowskis|Wachowski|Lana Wachowski|Lilly Wachowski|Wachowski siblings|Wachowski brothers|Wachowski sisters"),
    ("Forrest Gump", _ZEMECKIS),
    ("Back to the Future", _ZEMECKIS),
    ("Annie Hall", "Woody Allen"),
    ("Fargo (1996)", _COENS),
    ("No Country for Old Men (2007)", _COENS),
    ("Casablanca (1942)", "Michael Curtiz|Curtiz"),
    ("Gone with the Wind (1939)", _FLEMING),
    ("The Wizard of Oz (1939)", _FLEMING),
    ("Lawrence of Arabia", _LEAN),
    ("The Bridge on the River Kwai", _LEAN),
    ("Amélie (2001)", "Jean-Pierre Jeunet|Jeunet"),
    ("Pan's Labyrinth", _DEL_TORO),
    ("The Shape of Water", _DEL_TORO),
    ("Crouching Tiger, Hidden Dragon", _ANG_LEE),
    ("Brokeback Mountain", _ANG_LEE),
    ("Roma (2018)", _CUARON),
    ("Gravity (2013)", _CUARON),
    ("Modern Times (1936)", _CHAPLIN),
    ("The Great Dictator", _CHAPLIN),
    ("Sunset Boulevard (1950)", _WILDER),
    ("Some Like It Hot", _WILDER),
    ("Toy Story (1995)", "John Lasseter|Lasseter"),
    ("Slumdog Millionaire", _BOYLE),
    ("Trainspotting (1996)", _BOYLE),
    ("The Silence of the Lambs (1991)", "Jonathan Demme|Demme"),
    ("Pather Panchali", "Satyajit Ray"),
    ("Tokyo Story", "Yasujirō Ozu|Yasujiro Ozu|Ozu"),
    ("Nosferatu (1922)", "F. W. Murnau|F.W. Murnau|Murnau|Friedrich Wilhelm Murnau"),
    ("The Cabinet of Dr. Caligari", "Robert Wiene|Wiene"),
    ("Stalker (1979)", "Andrei Tarkovsky|Tarkovsky"),
    ("Solaris (1972)", "Andrei Tarkovsky|Tarkovsky"),
    ("The Good, the Bad and the Ugly", "Sergio Leone|Leone"),
    ("Once Upon a Time in the West", "Sergio Leone|Leone"),
    ("Fitzcarraldo", "Werner Herzog|Herzog"),
    ("Wings of Desire", "Wim Wenders|Wenders"),
    ("All About My Mother", "Pedro Almodóvar|Pedro Almodovar|Almodóvar|Almodovar"),
    ("In the Mood for Love", "Wong Kar-wai|Wong Kar Wai"),
    ("City of God (2002)", "Fernando Meirelles|Meirelles|Kátia Lund"),
]
